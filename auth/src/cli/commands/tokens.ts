import {
  type FamilyListing,
  listTokenFamilies,
  revokeTokenFamilies,
  type TokenFilter,
} from '../../admin/token-families.ts'
import {
  type CommandContext,
  type CommandResult,
  parseCommandLine,
  UsageError,
} from '../cli-context.ts'

const USAGE =
  'tokens list [--user <id|login>] [--client <client-id>] [--family <id>] | ' +
  'tokens revoke --user <id|login> | --client <client-id> | --family <id>'

/** `tokens list` and `tokens revoke`: refresh token families, by user, client or family id. */
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
    USAGE
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
    if (!filter.user && !filter.client && !filter.family) throw new UsageError(USAGE)
    const { revoked, markedOnly } = await revokeTokenFamilies(
      store,
      clock,
      { refreshTokenTtl: config.ttl.refreshToken, accessTokenTtl: config.ttl.accessToken },
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
    await context.audit.record({
      event: 'admin.tokens_revoked',
      selector: filter,
      families: revoked.length + markedOnly.length,
    })
    const lines = [
      `revoked ${revoked.length} token family(ies): their refresh tokens no longer refresh and ` +
        'their access tokens are refused by /verify',
      ...revoked.map(familyLine),
      ...markedOnly.map((id) => `${id}  (no live family: its access tokens are refused)`),
    ]
    return { data: { revoked, marked_only: markedOnly }, text: lines.join('\n') }
  }
  throw new UsageError(USAGE)
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
