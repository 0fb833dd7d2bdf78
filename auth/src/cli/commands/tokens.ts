import { tokenLifetimes } from '../../oauth/revocation.ts'
import {
  type FamilyListing,
  listTokenFamilies,
  revokeTokenFamilies,
  type TokenFilter,
} from '../../tokens/token-families.ts'
import {
  type CommandContext,
  type CommandResult,
  nothingToActOn,
  parseCommandLine,
} from '../cli-context.ts'
import { type UsageLine, usageError, usageText } from '../command.ts'

export const tokensUsage: readonly UsageLine[] = [
  {
    form: 'tokens list [--user U] [--client C] [--family F]',
    about: 'live token families (never token values); U: a user id or login',
  },
  {
    form: 'tokens revoke --user U | --client C | --family F',
    about: 'revoke them; /verify refuses their access tokens (exit 1: none matches)',
  },
]

/**
 * `tokens list` and `tokens revoke`: refresh token families, by user, client or family id. A
 * revocation that matches nothing is a failure (exit 1), as an unknown client is for `clients
 * delete`: the operator named something that holds no tokens.
 */
export async function tokensCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  const { values, positionals } = parseCommandLine(
    args,
    {
      user: { type: 'string' },
      client: { type: 'string' },
      family: { type: 'string' },
    },
    usageText(tokensUsage)
  )
  const filter: TokenFilter = { user: values.user, client: values.client, family: values.family }
  const { store, clock, config } = context
  if (positionals.length === 1 && positionals[0] === 'list') {
    const families = await listTokenFamilies(store, clock, config.ttl.refreshToken, filter)
    return {
      data: families,
      text: families.length ? families.map(familyLine).join('\n') : 'no live tokens',
    }
  }
  if (positionals.length === 1 && positionals[0] === 'revoke') {
    if (!filter.user && !filter.client && !filter.family) throw usageError(tokensUsage)
    const { revoked, markedOnly, pendingGrants } = await revokeTokenFamilies(
      store,
      clock,
      tokenLifetimes(config),
      filter
    )
    for (const family of revoked) {
      await context.audit.record({
        event: 'token.revoked',
        user: { id: family.user_id, login: family.user_login },
        client: { client_id: family.client_id },
        by: 'admin',
        token_type: 'refresh_token',
        family_id: family.id,
      })
    }
    const data = { revoked, marked_only: markedOnly, pending_grants: pendingGrants }
    // Nothing revoked is no admin action: the trail records what changed, not what was asked.
    if (revoked.length + markedOnly.length + pendingGrants.length === 0) {
      return nothingToActOn(data, 'no live token family matches: nothing revoked')
    }
    await context.audit.record({
      event: 'admin.tokens_revoked',
      selector: filter,
      families: revoked.length + markedOnly.length,
      ...(pendingGrants.length > 0 ? { pending_grants: pendingGrants.length } : {}),
    })
    const lines = [
      `revoked ${revoked.length} token family(ies): their refresh tokens no longer refresh and ` +
        'their access tokens are refused by /verify',
      ...revoked.map(familyLine),
      ...markedOnly.map((id) => `${id}  (no live family: its access tokens are refused)`),
      ...pendingGrants.map((id) => `${id}  (a code or approved device code not redeemed yet)`),
    ]
    return { data, text: lines.join('\n') }
  }
  throw usageError(tokensUsage)
}

function familyLine(family: FamilyListing): string {
  return [
    family.id,
    `${family.user_login} (${family.user_id})`,
    `client ${family.client_id}`,
    `scopes ${family.scopes.join(' ') || '-'}`,
    `created ${family.created_at}`,
    `last refreshed ${family.last_refreshed_at}`,
    `expires ${family.expires_at ?? 'never'}`,
  ].join('  ')
}
