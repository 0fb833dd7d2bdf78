import { withdrawConsent } from '../../account/connected-apps.ts'
import { AdminRefusal } from '../../admin/admin-refusal.ts'
import type { AuditUser } from '../../audit/audit-events.ts'
import { listConsents } from '../../authorization/consent.ts'
import { tokenLifetimes } from '../../oauth/revocation.ts'
import type { Store } from '../../store/store.ts'
import { usersNamed } from '../../tokens/token-families.ts'
import { type CommandContext, type CommandResult, nothingToActOn } from '../cli-context.ts'
import { bySubcommand, type Command, type UsageLine, usageError } from '../command.ts'

const LIST: UsageLine = {
  form: 'consents list <user>',
  about: 'clients a user consented to; user: an id or login',
}

async function list(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const [word, ...rest] = args
  if (!word || rest.length > 0) throw usageError([LIST])
  const user = await namedUser(context.store, word)
  const clients = await listConsents(context.store, user.id)
  return {
    data: { user_id: user.id, clients },
    text: clients.length ? clients.join('\n') : `no consents${unknownUser(word, user)}`,
  }
}

const REVOKE: UsageLine = {
  form: 'consents revoke <user> <client-id>',
  about: 'withdraw consent and revoke the tokens it led to; user: an id or login',
}

/**
 * What the user's own Revoke on `/account` does, by an operator: the same families revoked, the
 * same events recorded (`by: admin`). Nothing to withdraw is a failure (exit 1), as an unknown
 * client is for `clients delete`: a script must see it.
 */
async function revoke(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const [word, clientId, ...rest] = args
  if (!word || !clientId || rest.length > 0) throw usageError([REVOKE])
  const { store, clock, config, audit } = context
  const user = await namedUser(store, word)
  const revoked = await withdrawConsent(
    {
      store,
      clock,
      clientLifetime: config.ttl.client,
      lifetimes: tokenLifetimes(config),
      audit,
    },
    user,
    clientId,
    'admin'
  )
  const data = {
    user_id: user.id,
    client_id: clientId,
    withdrawn: revoked !== null,
    revoked_families: revoked?.families ?? [],
    revoked_pending_grants: revoked?.pendingGrants ?? [],
  }
  if (!revoked) {
    return nothingToActOn(
      data,
      `no consent or tokens of user ${who(user)} for client ${clientId}${unknownUser(word, user)}`
    )
  }
  const pending = revoked.pendingGrants.length
  const unredeemed = pending > 0 ? `, and ${pending} grant(s) not yet redeemed` : ''
  return {
    data,
    text: `consent withdrawn; ${revoked.families.length} token family(ies) revoked${unredeemed}`,
  }
}

/**
 * The user `word` names, as `tokens list --user` finds them: by id, else by login through their
 * live token families. A word neither finds is taken for an id: consents outlive tokens, so a
 * user without a family is known here by id alone.
 */
async function namedUser(store: Store, word: string): Promise<AuditUser> {
  const users = await usersNamed(store, word)
  const byId = users.find((user) => user.id === word)
  if (byId) return { id: byId.id, login: byId.login }
  if (users.length > 1) {
    const ids = users.map((user) => user.id).join(', ')
    throw new AdminRefusal(`${word} is the login of users ${ids}: pass the user id`)
  }
  const [byLogin] = users
  return byLogin ? { id: byLogin.id, login: byLogin.login } : { id: word }
}

function who(user: AuditUser): string {
  return user.login === undefined ? user.id : `${user.login} (${user.id})`
}

/** Said of a word that named no user: it may be a login the store cannot resolve. */
function unknownUser(word: string, user: AuditUser): string {
  return user.login === undefined
    ? ` (no live token has the login ${word} either: pass the user id, which audit --user ${word} shows)`
    : ''
}

/** `consents list <user>` and `consents revoke <user> <client-id>`. */
export const consentsCommand: Command<CommandContext> = bySubcommand<CommandContext>({
  list: { usage: LIST, run: list },
  revoke: { usage: REVOKE, run: revoke },
})
