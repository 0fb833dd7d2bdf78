import { withdrawConsent } from '../../account/connected-apps.ts'
import { listConsents } from '../../authorization/consent.ts'
import { tokenLifetimes } from '../../oauth/revocation.ts'
import { type CommandContext, type CommandResult, nothingToActOn } from '../cli-context.ts'
import { bySubcommand, type Command, type UsageLine, usageError } from '../command.ts'

const LIST: UsageLine = { form: 'consents list <user-id>', about: 'clients a user consented to' }

async function list(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const [userId, ...rest] = args
  if (!userId || rest.length > 0) throw usageError([LIST])
  const clients = await listConsents(context.store, userId)
  return {
    data: { user_id: userId, clients },
    text: clients.length ? clients.join('\n') : 'no consents',
  }
}

const REVOKE: UsageLine = {
  form: 'consents revoke <user-id> <client-id>',
  about: 'withdraw consent and revoke the tokens it led to',
}

/**
 * What the user's own Revoke on `/account` does, by an operator: the same families revoked, the
 * same events recorded (`by: admin`). Nothing to withdraw is a failure (exit 1), as an unknown
 * client is for `clients delete`: a script must see it.
 */
async function revoke(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const [userId, clientId, ...rest] = args
  if (!userId || !clientId || rest.length > 0) throw usageError([REVOKE])
  const { store, clock, config, audit } = context
  const revoked = await withdrawConsent(
    {
      store,
      clock,
      clientLifetime: config.ttl.client,
      lifetimes: tokenLifetimes(config),
      audit,
    },
    { id: userId },
    clientId,
    'admin'
  )
  const data = {
    user_id: userId,
    client_id: clientId,
    withdrawn: revoked !== null,
    revoked_families: revoked?.families ?? [],
    revoked_pending_grants: revoked?.pendingGrants ?? [],
  }
  if (!revoked) {
    return nothingToActOn(data, `no consent or tokens of user ${userId} for client ${clientId}`)
  }
  const pending = revoked.pendingGrants.length
  const unredeemed = pending > 0 ? `, and ${pending} grant(s) not yet redeemed` : ''
  return {
    data,
    text: `consent withdrawn; ${revoked.families.length} token family(ies) revoked${unredeemed}`,
  }
}

/** `consents list <user-id>` and `consents revoke <user-id> <client-id>`. */
export const consentsCommand: Command<CommandContext> = bySubcommand<CommandContext>({
  list: { usage: LIST, run: list },
  revoke: { usage: REVOKE, run: revoke },
})
