import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import type { TokenSubject } from './access-token.ts'
import { pendingGrantWrite } from './pending-grants.ts'
import { hashSecret, newSecret } from './secrets.ts'

/** What an authorization code stands for: everything the token request is checked against. */
export interface AuthorizationCodeGrant {
  readonly clientId: string
  readonly redirectUri: string
  /** The authorization request named no redirect URI, so the token request need not either. */
  readonly redirectUriOmitted?: true
  readonly codeChallenge: string
  readonly scopes: readonly string[]
  readonly resources: readonly string[]
  readonly subject: TokenSubject
  /** The refresh family the redemption will start (so a replay can revoke it). */
  readonly familyId: string
}

/**
 * A code names the family its redemption starts: `<family id>.<random>`. Redeeming it then takes
 * the code and writes the redeemed marker (which holds the family id) in one step, without
 * reading the grant first. The name is not trusted: the marker is keyed by the whole code's hash,
 * so a made-up code naming somebody's family finds nothing and revokes nothing.
 *
 * The code is indexed under its user and client as it is stored (`pending-grants.ts`), so a
 * consent withdrawn before the code is redeemed revokes the family it would start.
 */
export async function issueAuthorizationCode(
  store: Store,
  grant: AuthorizationCodeGrant,
  ttlSeconds: number
): Promise<string> {
  const code = `${grant.familyId}.${newSecret()}`
  const pending = { userId: grant.subject.id, clientId: grant.clientId, familyId: grant.familyId }
  await store.batch([
    {
      op: 'put',
      key: keys.authorizationCode(hashSecret(code)),
      value: JSON.stringify(grant),
      ttlSeconds,
    },
    pendingGrantWrite(pending, ttlSeconds),
  ])
  return code
}

/** Takes back a code that was stored but never handed out: nobody can redeem it afterwards. */
export async function withdrawAuthorizationCode(store: Store, code: string): Promise<void> {
  await store.delete(keys.authorizationCode(hashSecret(code)))
}

export type CodeRedemption =
  | { readonly outcome: 'redeemed'; readonly grant: AuthorizationCodeGrant }
  /** Presented again after a redemption: whatever it issued must be revoked (OAuth 2.1 §4.1.3). */
  | { readonly outcome: 'replayed'; readonly familyId: string }
  | { readonly outcome: 'unknown' }

/**
 * Redeems a code exactly once: taking it and marking it redeemed are one atomic step in Redis
 * (`takeAndWrite`), so concurrent redemptions race there, not here, and one that loses the race,
 * or comes later, always finds the marker and is recognised as a replay. One round trip for a
 * code that names its family; a code issued before they did is read first, for its family id.
 */
export async function redeemAuthorizationCode(
  store: Store,
  code: string,
  replayWindowSeconds: number
): Promise<CodeRedemption> {
  const codeHash = hashSecret(code)
  const familyId = namedFamily(code) ?? (await familyOfCode(store, codeHash))
  if (familyId !== undefined) {
    const marker = {
      op: 'put',
      key: keys.redeemedCode(codeHash),
      value: familyId,
      ttlSeconds: replayWindowSeconds,
    } as const
    const key = keys.authorizationCode(codeHash)
    const taken = await store.takeAndWrite(key, [marker])
    if (taken !== null) {
      return { outcome: 'redeemed', grant: parseRecord<AuthorizationCodeGrant>(taken, key) }
    }
  }
  const redeemedBy = await store.get(keys.redeemedCode(codeHash))
  return redeemedBy ? { outcome: 'replayed', familyId: redeemedBy } : { outcome: 'unknown' }
}

/** The family a code names (the part before its dot); undefined for a code of the format before. */
function namedFamily(code: string): string | undefined {
  const dot = code.indexOf('.')
  return dot > 0 ? code.slice(0, dot) : undefined
}

async function familyOfCode(store: Store, codeHash: string): Promise<string | undefined> {
  const key = keys.authorizationCode(codeHash)
  return parseRecord<AuthorizationCodeGrant>(await store.get(key), key)?.familyId
}
