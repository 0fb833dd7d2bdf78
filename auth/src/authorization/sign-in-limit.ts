import type { AuthDeps } from '../deps.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { tokenLifetimes } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import { parseUnlessDamaged } from '../store/stored-record.ts'
import { revokeRefreshFamily } from '../tokens/family-revocation.ts'
import type { RefreshFamily } from '../tokens/refresh-tokens.ts'

/**
 * The token families (sign-ins) a user may hold with one client at once. Every authorization
 * starts one, and a client the user approved gets a code without the page (remembered consent)
 * as often as it asks: unbounded, one such client kept about 70 new families a second, each
 * about 2 KB for the refresh lifetime (30 days). A person uses a client on a few machines, and a
 * metadata-document client has one id on all of them.
 */
export const SIGN_INS_PER_CLIENT = 20

/**
 * Before an authorization issues its code: ends the user's oldest families with the client
 * beyond room for the one the code will start. Their tokens are refused from then on, as when the
 * user revokes them, and each is audited as revoked by the gateway.
 *
 * The user's own index set is read, not the client's, which holds every user's families. Codes
 * issued but not redeemed yet are not counted: at most a minute's worth of them
 * (`AUTH_CODE_TTL`), and the per-user limit on authorizations, pass the bound, until the next
 * authorization ends them.
 */
export async function makeRoomForSignIn(
  deps: Pick<AuthDeps, 'store' | 'config' | 'audit'>,
  subject: TokenSubject,
  clientId: string
): Promise<void> {
  const { store } = deps
  const familyIds = await store.setMembers(keys.userFamilies(subject.id))
  if (familyIds.length < SIGN_INS_PER_CLIENT) return
  const withClient: RefreshFamily[] = []
  for (let start = 0; start < familyIds.length; start += 500) {
    const batch = familyIds.slice(start, start + 500)
    const records = await store.getMany(batch.map((id) => keys.refreshFamily(id)))
    records.forEach((raw, at) => {
      const family = parseUnlessDamaged<RefreshFamily>(raw, keys.refreshFamily(batch[at] ?? ''))
      if (family?.clientId === clientId) withClient.push(family)
    })
  }
  const excess = withClient.length - (SIGN_INS_PER_CLIENT - 1)
  if (excess <= 0) return
  withClient.sort((a, b) => a.createdAt - b.createdAt)
  for (const family of withClient.slice(0, excess)) {
    const { revokedNow } = await revokeRefreshFamily(
      store,
      family.familyId,
      tokenLifetimes(deps.config)
    )
    if (!revokedNow) continue
    await deps.audit.record({
      event: 'token.revoked',
      by: 'gateway',
      token_type: 'refresh_token',
      family_id: family.familyId,
      user: { id: subject.id, login: subject.login },
      client: { client_id: clientId },
      reason: 'sign_in_limit',
    })
  }
}
