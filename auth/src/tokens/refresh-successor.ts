import type { Clock } from '../clock.ts'
import { seal, sealingKey, unseal } from '../oauth/sealing.ts'
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
  /** Milliseconds since the epoch (the gateway's clock decides the grace, not the store's TTL). */
  readonly rotatedAt: number
  readonly successor: string
}

const PURPOSE = 'refresh-token-successor'

export function sealSuccessor(
  replaced: string,
  successor: string,
  familyId: string,
  rotatedAt: number
): string {
  const record: SuccessorRecord = {
    familyId,
    rotatedAt,
    successor: seal(sealingKey(replaced, PURPOSE), successor, `${familyId}.${rotatedAt}`),
  }
  return JSON.stringify(record)
}

/**
 * The successor of `replaced` (whose hash is `replacedHash`) from its stored record, while its
 * grace lasts; null without a record or a grace, or once the grace is over.
 */
export function openSuccessor(
  replaced: string,
  replacedHash: string,
  stored: string | null | undefined,
  grace: ReuseGrace | undefined
): { readonly familyId: string; readonly successor: string } | null {
  if (!grace || !stored) return null
  const record = parseRecord<SuccessorRecord>(stored, keys.refreshSuccessor(replacedHash))
  const age = grace.clock.now() - record.rotatedAt
  if (age < 0 || age > grace.seconds * 1000) return null
  const successor = unseal(
    sealingKey(replaced, PURPOSE),
    record.successor,
    `${record.familyId}.${record.rotatedAt}`
  )
  return successor ? { familyId: record.familyId, successor } : null
}
