import { listConsents, revokeConsent } from '../../authorization/consent.ts'
import { revokeRefreshFamily } from '../../tokens/refresh-tokens.ts'
import { type CommandContext, type CommandResult, UsageError } from '../cli-context.ts'

/** `consents list <user-id>` and `consents revoke <user-id> <client-id>`. */
export async function consentsCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  const [action, userId, clientId] = args
  const { store, config } = context
  if (action === 'list' && userId) {
    const clients = await listConsents(store, userId)
    return {
      data: { user_id: userId, clients },
      text: clients.length ? clients.join('\n') : 'no consents',
    }
  }
  if (action === 'revoke' && userId && clientId) {
    const lifetimes = {
      refreshTokenTtl: config.ttl.refreshToken,
      accessTokenTtl: config.ttl.accessToken,
    }
    let revokedFamilies: string[] = []
    await revokeConsent(store, userId, clientId, async (familyIds) => {
      revokedFamilies = familyIds
      await Promise.all(
        familyIds.map((familyId) => revokeRefreshFamily(store, familyId, lifetimes))
      )
    })
    await context.audit.record({
      event: 'authorization.consent_revoked',
      user: { id: userId },
      client: { client_id: clientId },
      by: 'admin',
      families: revokedFamilies.length,
    })
    return {
      data: { user_id: userId, client_id: clientId, revoked_families: revokedFamilies },
      text: `consent withdrawn; ${revokedFamilies.length} token family(ies) revoked`,
    }
  }
  throw new UsageError('consents list <user-id> | consents revoke <user-id> <client-id>')
}
