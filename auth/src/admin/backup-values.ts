import { z } from 'zod'
import { keyRingProblem } from '../keys/signing-keys.ts'

// What a backup's values must be for the gateway to read them back: the fields its readers rely
// on (client-registry.ts, consent.ts, refresh-tokens.ts), checked before anything is written, so
// a damaged or hand-edited file cannot make a client unreadable or stop the next start.

const strings = z.array(z.string())

const clientRecord = z.looseObject({
  client_id: z.string().min(1),
  client_id_issued_at: z.number(),
  metadata: z.looseObject({
    redirect_uris: strings,
    token_endpoint_auth_method: z.string(),
    grant_types: strings,
    response_types: strings,
  }),
})

const consent = z.looseObject({
  scopes: strings,
  resources: strings,
  redirectUris: strings,
  grantedAt: z.number(),
})

const refreshFamily = z.looseObject({
  familyId: z.string().min(1),
  clientId: z.string().min(1),
  subject: z.looseObject({ id: z.string().min(1), login: z.string() }),
  scopes: strings,
  resources: strings,
  createdAt: z.number(),
  // Absent for a family without a refresh token (a client without the refresh grant).
  currentTokenHash: z.string().min(1).optional(),
})

/** JSON records by section; the other sections hold plain strings (ids, sealed grants, markers). */
const RECORDS: Readonly<Record<string, z.ZodType>> = {
  clients: clientRecord,
  consents: consent,
  refresh_families: refreshFamily,
}

/**
 * Why a backed-up value of `section` could not be read back, or undefined when it can. A client
 * must be stored under its own id (`id`: the key without its prefix).
 */
export function backupValueProblem(section: string, id: string, value: string): string | undefined {
  if (section === 'signing_keys') return keyRingProblem(value)
  const schema = RECORDS[section]
  if (!schema) return value === '' ? 'empty' : undefined
  let json: unknown
  try {
    json = JSON.parse(value)
  } catch {
    return 'not JSON'
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return `${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`
  }
  if (section === 'clients' && (json as { client_id: string }).client_id !== id) {
    return 'client_id: not the id it is stored under'
  }
  return undefined
}
