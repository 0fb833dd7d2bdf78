import { z } from 'zod'
import { type Clock, epochSeconds } from '../clock.ts'
import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import { AdminRefusal } from './admin-refusal.ts'
import { backupValueProblem } from './backup-values.ts'

/**
 * A backup of the gateway state that must outlive a lost Redis: registered clients, consents,
 * live refresh tokens with their families and index sets, the markers that keep revoked tokens
 * revoked, the users' encrypted upstream grants (a refresh re-checks the user upstream with them)
 * and the signing keys. Each value keeps its expiry, so a restore gives it only the lifetime it
 * had left. Short-lived state is deliberately left out (STORAGE.md, "Backups").
 */
export const BACKUP_FORMAT = 'mcp-oauth-gateway-backup'

export const BACKUP_NOTE =
  'This file holds secrets: the private signing keys, the users’ encrypted GitHub tokens and the ' +
  'hashes of every live credential. Keep it private (mode 0600) and delete copies you do not need.'

type Section =
  | 'clients'
  | 'signing_keys'
  | 'consents'
  | 'refresh_families'
  | 'refresh_tokens'
  | 'rotated_refresh_tokens'
  | 'revocations'
  | 'upstream_grants'
  | 'index_sets'

interface BackedUp {
  /** A key prefix, or with `exact` the one key. */
  readonly prefix: string
  readonly exact?: boolean
  readonly type: 'string' | 'set'
  readonly section: Section
}

/** Everything a backup holds; any other key is short-lived and left out on purpose. */
const BACKED_UP: readonly BackedUp[] = [
  { prefix: keyPrefixes.client, type: 'string', section: 'clients' },
  { prefix: keys.signingKeys(), exact: true, type: 'string', section: 'signing_keys' },
  { prefix: keyPrefixes.consent, type: 'string', section: 'consents' },
  { prefix: keyPrefixes.refreshFamily, type: 'string', section: 'refresh_families' },
  { prefix: keyPrefixes.refreshToken, type: 'string', section: 'refresh_tokens' },
  { prefix: keyPrefixes.rotatedRefreshToken, type: 'string', section: 'rotated_refresh_tokens' },
  { prefix: keyPrefixes.revocationMarker, type: 'string', section: 'revocations' },
  { prefix: keyPrefixes.upstreamGrant, type: 'string', section: 'upstream_grants' },
  { prefix: keyPrefixes.userFamilies, type: 'set', section: 'index_sets' },
  { prefix: keyPrefixes.clientFamilies, type: 'set', section: 'index_sets' },
  { prefix: keyPrefixes.userConsents, type: 'set', section: 'index_sets' },
]

const stringEntry = z.object({
  key: z.string().min(1),
  value: z.string(),
  /** Seconds since the epoch; null: the key never expires. */
  expires_at: z.number().int().nullable(),
})
const setEntry = z.object({ key: z.string().min(1), members: z.array(z.string()) })
export type StringEntry = z.infer<typeof stringEntry>
export type SetEntry = z.infer<typeof setEntry>

const backupSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  note: z.string(),
  issuer: z.string(),
  created_at: z.string(),
  key_prefix: z.string(),
  /** JWT_PRIVATE_KEY_B64 was set: the signing key lives in the environment, not in this file. */
  signing_key_pinned: z.boolean(),
  counts: z.record(z.string(), z.number()),
  entries: z.array(z.union([stringEntry, setEntry])),
})
export type Backup = z.infer<typeof backupSchema>
export type BackupHeader = Omit<Backup, 'entries'>

export interface GatewayIdentity {
  readonly issuer: string
  readonly keyPrefix: string
  readonly signingKeyPinned: boolean
}

/** A stored record a backup left out: restoring it would fail, and the whole file with it. */
export interface LeftOutRecord {
  readonly key: string
  readonly problem: string
}

/**
 * Reads everything a backup holds. A record changed outside the gateway (one `restore` would
 * refuse) is left out and named, so one damaged key costs that key, not every backup after it.
 */
export async function createBackup(
  store: Store,
  clock: Clock,
  gateway: GatewayIdentity
): Promise<{ readonly backup: Backup; readonly leftOut: readonly LeftOutRecord[] }> {
  const now = epochSeconds(clock)
  const entries: (StringEntry | SetEntry)[] = []
  const leftOut: LeftOutRecord[] = []
  for (const backedUp of BACKED_UP) {
    const found = new Set<string>()
    if (backedUp.exact) found.add(backedUp.prefix)
    else for await (const key of store.scan(backedUp.prefix)) found.add(key)
    for (const key of [...found].sort()) {
      const entry =
        backedUp.type === 'set' ? await readSet(store, key) : await readString(store, key, now)
      const problem =
        entry &&
        'value' in entry &&
        backupValueProblem(backedUp.section, key.slice(backedUp.prefix.length), entry.value)
      if (problem) leftOut.push({ key, problem })
      else if (entry) entries.push(entry)
    }
  }
  return { backup: backupOf(entries, clock, gateway), leftOut }
}

function backupOf(
  entries: (StringEntry | SetEntry)[],
  clock: Clock,
  gateway: GatewayIdentity
): Backup {
  return {
    format: BACKUP_FORMAT,
    version: 1,
    note: BACKUP_NOTE,
    issuer: gateway.issuer,
    created_at: new Date(clock.now()).toISOString(),
    key_prefix: gateway.keyPrefix,
    signing_key_pinned: gateway.signingKeyPinned,
    counts: countEntries(entries),
    entries,
  }
}

async function readString(store: Store, key: string, now: number): Promise<StringEntry | null> {
  let value = await store.get(key)
  if (value === null) return null
  const ttl = await store.ttl(key)
  if (ttl === null) {
    // No TTL, or the key expired between the two reads: only a second read tells which.
    value = await store.get(key)
    if (value === null) return null
  }
  return { key, value, expires_at: ttl === null ? null : now + ttl }
}

async function readSet(store: Store, key: string): Promise<SetEntry | null> {
  const members = await store.setMembers(key)
  return members.length > 0 ? { key, members: members.sort() } : null
}

function countEntries(entries: readonly (StringEntry | SetEntry)[]): Record<Section, number> {
  const counts: Record<Section, number> = {
    clients: 0,
    signing_keys: 0,
    consents: 0,
    refresh_families: 0,
    refresh_tokens: 0,
    rotated_refresh_tokens: 0,
    revocations: 0,
    upstream_grants: 0,
    index_sets: 0,
  }
  for (const entry of entries) {
    const section = sectionOf(entry.key)
    if (!section) continue
    if (section === 'signing_keys' && 'value' in entry) {
      counts.signing_keys += ringKeys(parseRing(entry.value)).length
    } else counts[section]++
  }
  return counts
}

function sectionOf(key: string): Section | undefined {
  return BACKED_UP.find((b) => (b.exact ? key === b.prefix : key.startsWith(b.prefix)))?.section
}

/** Reads and checks a backup file's text: only the keys a backup can hold are accepted. */
export function parseBackup(text: string): Backup {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new AdminRefusal('not a gateway backup: the file is not JSON')
  }
  const parsed = backupSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new AdminRefusal(
      `not a gateway backup: ${issue?.path.join('.') || 'file'}: ${issue?.message ?? 'invalid'}`
    )
  }
  for (const entry of parsed.data.entries) {
    const backedUp = BACKED_UP.find((b) =>
      b.exact ? entry.key === b.prefix : entry.key.startsWith(b.prefix)
    )
    if (!backedUp || (backedUp.type === 'set') !== 'members' in entry) {
      throw new AdminRefusal(`not a gateway backup: unexpected key ${entry.key}`)
    }
    const problem =
      'value' in entry &&
      backupValueProblem(backedUp.section, entry.key.slice(backedUp.prefix.length), entry.value)
    if (problem) throw new AdminRefusal(`not a gateway backup: ${entry.key}: ${problem}`)
  }
  return parsed.data
}

/** The signing key ring as `signing-keys.ts` stores it, as far as backups look into it. */
export interface StoredRing {
  readonly current: { readonly kid?: string }
  readonly previous: readonly { readonly kid?: string }[]
}

export function parseRing(value: string): StoredRing {
  const ring = parseRecord<StoredRing>(value, keys.signingKeys())
  return { current: ring.current, previous: ring.previous ?? [] }
}

export function ringKeys(ring: StoredRing): { readonly kid?: string }[] {
  return [ring.current, ...ring.previous]
}

/** The kids of the signing keys a backup holds, the current one first. */
export function backupSigningKeyIds(backup: Backup): string[] {
  const entry = backup.entries.find(
    (e): e is StringEntry => e.key === keys.signingKeys() && 'value' in e
  )
  return entry ? ringKeys(parseRing(entry.value)).map((jwk) => jwk.kid ?? '?') : []
}

export function backupHeader(backup: Backup): BackupHeader {
  const { entries: _entries, ...header } = backup
  return header
}
