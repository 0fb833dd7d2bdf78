import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import { TemporarilyUnavailable } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { pendingGrantWrite } from '../oauth/pending-grants.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import { newUserCode } from './user-code.ts'

/** RFC 8628 §3.2: the polling interval when none is given. */
export const DEFAULT_INTERVAL_SECONDS = 5

/**
 * A device authorization (RFC 8628): what the device asked for, and the user's answer once given.
 * Written when created and once more by the user's decision, never by polling, so a poll cannot
 * overwrite an approval.
 */
export interface DeviceAuthorization {
  readonly clientId: string
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  readonly userCode: string
  readonly status: 'pending' | 'approved' | 'denied'
  readonly subject?: TokenSubject
  /** The refresh family the tokens will start. */
  readonly familyId: string
}

export async function startDeviceAuthorization(
  store: Store,
  request: { clientId: string; scopes: readonly string[]; resources: readonly string[] },
  ttlSeconds: number,
  drawUserCode: () => string = newUserCode
): Promise<{ deviceCode: string; userCode: string }> {
  const deviceCode = newSecret()
  const deviceCodeHash = hashSecret(deviceCode)
  for (let attempt = 0; attempt < 5; attempt++) {
    const userCode = drawUserCode()
    const record: DeviceAuthorization = {
      ...request,
      userCode,
      status: 'pending',
      familyId: randomUUID(),
    }
    // The user code must be unique while it lives, and never name a record that is not there:
    // claimed together with the record, or not at all.
    const userCodeKey = keys.userCode(userCode)
    const written = await store.batch(
      [
        { op: 'put', key: userCodeKey, value: deviceCodeHash, ttlSeconds },
        {
          op: 'put',
          key: keys.deviceAuthorization(deviceCodeHash),
          value: JSON.stringify(record),
          ttlSeconds,
        },
      ],
      { unlessExists: userCodeKey }
    )
    if (written) return { deviceCode, userCode }
  }
  // Five draws from 20^8 codes all taken: the store is full of live codes, or answers wrongly.
  throw new TemporarilyUnavailable('no free user code was found; retry later')
}

/**
 * What a typed user code names while it lives: its pending authorization, or `answered` once the
 * user has answered it (collected by the device or not). An answered code is never answered
 * again; it only lets the page tell a person who reloads that the answer was recorded.
 */
export async function findByUserCode(
  store: Store,
  userCode: string
): Promise<{ deviceCodeHash: string; authorization: DeviceAuthorization } | 'answered' | null> {
  const deviceCodeHash = await store.get(keys.userCode(userCode))
  if (!deviceCodeHash) return null
  const authorization = await findByDeviceCodeHash(store, deviceCodeHash)
  return authorization?.status === 'pending' ? { deviceCodeHash, authorization } : 'answered'
}

export async function findByDeviceCodeHash(
  store: Store,
  deviceCodeHash: string
): Promise<DeviceAuthorization | null> {
  const key = keys.deviceAuthorization(deviceCodeHash)
  return parseRecord<DeviceAuthorization>(await store.get(key), key)
}

/**
 * Records the user's answer, once: the answer is written only while the record is still the
 * pending one read here (compare-and-set), so of concurrent answers (approve in one tab, deny in
 * another) exactly one is applied and the others get false. The user code is used up either way:
 * it names an answered authorization until it lapses with the device code (`findByUserCode`).
 * An approval is indexed under its user and client (`pending-grants.ts`): a consent withdrawn
 * before the device collects its tokens revokes the family they would start.
 */
export async function decideDeviceAuthorization(
  store: Store,
  deviceCodeHash: string,
  decision: { status: 'approved'; subject: TokenSubject } | { status: 'denied' }
): Promise<boolean> {
  const key = keys.deviceAuthorization(deviceCodeHash)
  const [raw, ttl] = await Promise.all([store.get(key), store.ttl(key)])
  const authorization = parseRecord<DeviceAuthorization>(raw, key)
  if (raw === null || authorization?.status !== 'pending') return false
  const { clientId, familyId } = authorization
  // The answer keeps the device code's lifetime to the millisecond: a TTL read back in whole
  // seconds (rounded) would let an approval in the last second outlive the code, or refuse one
  // made in its last half second. The index entry may outlive it by that second: it only finds.
  const indexTtl = Math.max(1, ttl ?? 1)
  return store.batch(
    [
      { op: 'put', key, value: JSON.stringify({ ...authorization, ...decision }), keepTtl: true },
      ...(decision.status === 'approved'
        ? [pendingGrantWrite({ userId: decision.subject.id, clientId, familyId }, indexTtl)]
        : []),
    ],
    { ifUnchanged: { key, value: raw } }
  )
}

/** RFC 8628 §3.5: what every `slow_down` adds to the device's polling interval. */
const SLOW_DOWN_SECONDS = 5

/**
 * Paces polling (RFC 8628 §3.5): a poll sooner than the interval after the previous one is
 * `slow_down`, and the interval grows by 5 seconds for every later poll. One atomic step in the
 * store, so of concurrent polls within one interval exactly one gets through.
 */
export async function pacePoll(
  store: Store,
  clock: Clock,
  deviceCodeHash: string,
  ttlSeconds: number
): Promise<'ok' | 'slow_down'> {
  const tooSoon = await store.pace(keys.devicePoll(deviceCodeHash), clock.now(), {
    intervalSeconds: DEFAULT_INTERVAL_SECONDS,
    backoffSeconds: SLOW_DOWN_SECONDS,
    ttlSeconds,
  })
  return tooSoon ? 'slow_down' : 'ok'
}

/**
 * Uses up an answered authorization: of concurrent polls exactly one gets it. Taking it, dropping
 * its pacer and, for an approval, marking the device code redeemed for `redeemedForSeconds` are
 * one atomic step, so a poll that finds nothing can tell a code used (the mark) from one that
 * lapsed meanwhile (none).
 */
export async function redeemDeviceAuthorization(
  store: Store,
  deviceCodeHash: string,
  redeemedForSeconds?: number
): Promise<DeviceAuthorization | null> {
  const key = keys.deviceAuthorization(deviceCodeHash)
  const raw = await store.takeAndWrite(key, [
    { op: 'delete', key: keys.devicePoll(deviceCodeHash) },
    ...(redeemedForSeconds === undefined
      ? []
      : [
          {
            op: 'put',
            key: keys.redeemedDeviceCode(deviceCodeHash),
            value: '1',
            ttlSeconds: redeemedForSeconds,
          } as const,
        ]),
  ])
  return raw === null ? null : parseRecord<DeviceAuthorization>(raw, key)
}

/** Whether the device code was redeemed (within its lifetime after that). */
export async function wasRedeemed(store: Store, deviceCodeHash: string): Promise<boolean> {
  return (await store.get(keys.redeemedDeviceCode(deviceCodeHash))) !== null
}
