import type { Clock } from '../clock.ts'
import { seal, sealingKey, unseal } from '../oauth/sealing.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import { parseRecord } from '../store/stored-record.ts'

/**
 * The reuse grace: for a short while after a rotation, the replaced refresh token presented again
 * (a parallel session of the same client that read it before the rotation) gets the same
 * successor instead of revoking its family.
 */
export interface ReuseGrace {
  readonly clock: Clock
  /** 0: no grace, every reuse revokes the family. */
  readonly seconds: number
}

/**
 * What a rotation leaves behind for the grace. Refresh tokens are stored only as hashes, so the
 * successor itself is kept, sealed (AES-256-GCM) under a key derived from the replaced token: only
 * someone who presents that token can open it, and a copy of the store (or a backup) reveals
 * nothing. No key to configure or rotate, and the record lives no longer than the grace.
 */
interface SuccessorRecord {
  readonly familyId: string
  /**
   * Milliseconds since the epoch, by the clock of the gateway that rotated. It decides the grace
   * only for an unconfirmed rotation, whose record outlives the grace; otherwise the record's TTL
   * is the grace (`openSuccessor`).
   */
  readonly rotatedAt: number
  readonly successor: string
  /**
   * The rotation's answer never reached the client (a timeout, a write no replica confirmed): the
   * successor is handed out again, past the grace, for as long as it is the family's live token.
   */
  readonly unconfirmed?: true
}

const PURPOSE = 'refresh-token-successor'

export function sealSuccessor(
  replaced: string,
  successor: string,
  familyId: string,
  rotatedAt: number,
  unconfirmed = false
): string {
  const record: SuccessorRecord = {
    familyId,
    rotatedAt,
    successor: seal(sealingKey(replaced, PURPOSE), successor, `${familyId}.${rotatedAt}`),
    ...(unconfirmed ? { unconfirmed: true } : {}),
  }
  return JSON.stringify(record)
}

/**
 * The successor of `replaced` (whose hash is `replacedHash`) from its stored record, while its
 * grace lasts, or, for a rotation never confirmed to its client, past it; in both cases only
 * while the successor is still the family's live token (`liveHash`); null otherwise.
 */
export function openSuccessor(
  replaced: string,
  replacedHash: string,
  stored: string | null | undefined,
  grace: ReuseGrace | undefined,
  liveHash: string | undefined
): { readonly familyId: string; readonly successor: string; readonly unconfirmed: boolean } | null {
  if (!stored) return null
  const record = parseRecord<SuccessorRecord>(stored, keys.refreshSuccessor(replacedHash))
  const withinGrace =
    grace !== undefined && grace.seconds > 0 && (!record.unconfirmed || fresh(record, grace))
  if (!withinGrace && !record.unconfirmed) return null
  const successor = unseal(
    sealingKey(replaced, PURPOSE),
    record.successor,
    `${record.familyId}.${record.rotatedAt}`
  )
  if (!successor) return null
  // Only while the successor is the family's live token: once it was rotated in turn, the chain
  // has moved on and the replaced token is a replay, within the grace too (a stolen token would
  // otherwise mint access tokens for the rest of the grace, past any reuse detection). Tokens of
  // the first format are looked up without their family (`liveHash` unknown): the grace alone.
  if (liveHash === undefined ? !withinGrace : hashSecret(successor) !== liveHash) return null
  return { familyId: record.familyId, successor, unconfirmed: !withinGrace }
}

/**
 * Whether an unconfirmed rotation is still within the grace by the gateway's clock. An ordinary
 * record needs no such test: it lives exactly the grace, and its TTL starts when the store runs
 * the rotation. A rotation the store ran late (a pause, a stalled connection, a failover) is then
 * still within the grace for the retry that follows it, where the rotating gateway's clock, read
 * before the wait, would already call that retry a replay and revoke the family. Replicas' clocks
 * do not enter into it either.
 */
function fresh(record: SuccessorRecord, grace: ReuseGrace): boolean {
  const age = grace.clock.now() - record.rotatedAt
  return age >= 0 && age <= grace.seconds * 1000
}
