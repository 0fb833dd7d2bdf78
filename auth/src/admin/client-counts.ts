import type { ClientRecord } from '../clients/client-registry.ts'
import { type Clock, epochSeconds } from '../clock.ts'
import { keyPrefixes, keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'

/**
 * How many registrations the store holds, used and never used, by client name. Clients such as
 * Claude register anew on every connection, so most registrations are never used again; the
 * counts show whether they pile up.
 *
 * Whether a registration was used is read from its lifetime, which records it: a registration
 * lives `CLIENT_UNUSED_LIFETIME` from `client_id_issued_at` until its first use, which moves its
 * expiry to `CLIENT_LIFETIME` from then (or removes it when that is 0). So it was used when it
 * expires later than it would have unused. When the unused lifetime is not shorter than the
 * lifetime (or both are 0), the two look alike and use is `null`: not known. A registration made
 * under another `CLIENT_UNUSED_LIFETIME` is judged by the current one.
 */
export interface RegistrationLifetimes {
  /** CLIENT_LIFETIME: seconds from the last use; 0: used registrations never expire. */
  readonly client: number
  /** CLIENT_UNUSED_LIFETIME: seconds until the first use; 0: `client` from the start. */
  readonly unusedClient: number
}

export interface ClientCounts {
  readonly total: number
  /** Null when use cannot be told from the lifetimes (see above). */
  readonly used: number | null
  readonly never_used: number | null
  /** Busiest names first; registrations without a name count under "". */
  readonly by_name: readonly NameCounts[]
}

export interface NameCounts {
  readonly client_name: string
  readonly total: number
  readonly used: number | null
  readonly never_used: number | null
}

/** Clock skew between the gateway and Redis, and TTL rounding, stay well below this. */
const SLACK_SECONDS = 60

/**
 * Whether a registration has been used (tokens issued or a device authorization started), from
 * its record and its remaining TTL (`null`: none); null when the lifetimes cannot tell.
 */
export function registrationUsed(
  client: ClientRecord,
  ttl: number | null,
  now: number,
  lifetimes: RegistrationLifetimes
): boolean | null {
  if (!useIsRecorded(lifetimes)) return null
  // No expiry: used with CLIENT_LIFETIME=0 (now, or when it was used).
  if (ttl === null) return true
  if (lifetimes.client === 0) return false
  const unused = unusedLifetime(lifetimes)
  const slack = Math.min(SLACK_SECONDS, (lifetimes.client - unused) / 2)
  return now + ttl > client.client_id_issued_at + unused + slack
}

export async function countRegistrations(
  store: Store,
  clock: Clock,
  lifetimes: RegistrationLifetimes
): Promise<ClientCounts> {
  const names = new Map<string, { total: number; used: number; neverUsed: number }>()
  const known = useIsRecorded(lifetimes)
  for await (const key of store.scan(keyPrefixes.client)) {
    const clientId = key.slice(keyPrefixes.client.length)
    const [raw, ttl] = await Promise.all([
      store.get(keys.client(clientId)),
      store.ttl(keys.client(clientId)),
    ])
    // Expired or deleted between the scan and the read.
    if (raw === null) continue
    const client = parseRecord<ClientRecord>(raw, keys.client(clientId))
    const name = client.metadata.client_name ?? ''
    const counts = names.get(name) ?? { total: 0, used: 0, neverUsed: 0 }
    counts.total++
    const used = registrationUsed(client, ttl, epochSeconds(clock), lifetimes)
    if (used === true) counts.used++
    if (used === false) counts.neverUsed++
    names.set(name, counts)
  }
  const byName = [...names]
    .map(([name, c]) => ({
      client_name: name,
      total: c.total,
      used: known ? c.used : null,
      never_used: known ? c.neverUsed : null,
    }))
    .sort((a, b) => b.total - a.total || a.client_name.localeCompare(b.client_name))
  const sum = (pick: (n: NameCounts) => number | null) =>
    known ? byName.reduce((total, n) => total + (pick(n) ?? 0), 0) : null
  return {
    total: byName.reduce((total, n) => total + n.total, 0),
    used: sum((n) => n.used),
    never_used: sum((n) => n.never_used),
    by_name: byName,
  }
}

/** Whether a used registration expires otherwise than an unused one. */
function useIsRecorded(lifetimes: RegistrationLifetimes): boolean {
  const unused = unusedLifetime(lifetimes)
  return unused > 0 && (lifetimes.client === 0 || unused < lifetimes.client)
}

/** As the registry applies it (`client-registry.ts`): 0 means the full lifetime from the start. */
function unusedLifetime(lifetimes: RegistrationLifetimes): number {
  if (lifetimes.unusedClient === 0) return lifetimes.client
  return lifetimes.client === 0
    ? lifetimes.unusedClient
    : Math.min(lifetimes.unusedClient, lifetimes.client)
}
