import { registrationUsed } from '../../admin/client-counts.ts'
import { deleteClient } from '../../admin/client-deletion.ts'
import { findClient } from '../../clients/client-registry.ts'
import { epochSeconds } from '../../clock.ts'
import { tokenLifetimes } from '../../oauth/revocation.ts'
import { keyPrefixes, keys } from '../../store/keys.ts'
import {
  type CliContext,
  type CommandContext,
  type CommandResult,
  nothingToActOn,
} from '../cli-context.ts'
import { bySubcommand, type Command, type UsageLine, usageError } from '../command.ts'
import { clientsCount, registrationLifetimes, summary } from './client-counts.ts'
import { clientShow } from './client-show.ts'

const LIST: UsageLine = { form: 'clients list', about: 'registered clients' }

async function listClients(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  if (args.length > 0) throw usageError([LIST])
  const registry = {
    store: context.store,
    clock: context.clock,
    clientLifetime: context.config.ttl.client,
  }
  const lifetimes = registrationLifetimes(context.config)
  const now = epochSeconds(context.clock)
  const clients = []
  for await (const key of context.store.scan(keyPrefixes.client)) {
    const client = await findClient(registry, key.slice(keyPrefixes.client.length))
    if (client) {
      const ttl = await context.store.ttl(keys.client(client.client_id))
      clients.push({
        client_id: client.client_id,
        client_name: client.metadata.client_name ?? '',
        issued_at: new Date(client.client_id_issued_at * 1000).toISOString(),
        redirect_uris: client.metadata.redirect_uris,
        used: registrationUsed(client, ttl, now, lifetimes),
      })
    }
  }
  clients.sort((a, b) => a.issued_at.localeCompare(b.issued_at))
  const text = clients.map(
    (c) =>
      `${c.client_id}  ${c.issued_at}  ${USE_LABELS[String(c.used)]}  ${c.client_name}  ${c.redirect_uris.join(' ')}`
  )
  const used = clients.filter((c) => c.used === true).length
  const known = clients.every((c) => c.used !== null)
  const counted = {
    total: clients.length,
    used: known ? used : null,
    never_used: known ? clients.length - used : null,
  }
  return {
    data: clients,
    text: clients.length ? [...text, summary(counted)].join('\n') : 'no clients',
  }
}

const DELETE: UsageLine = {
  form: 'clients delete <client-id>',
  about: 'remove a registration, revoking its tokens and consents',
}

/** An unknown client is a failure (exit 1), as for `clients show`: a script must see it. */
async function deleteOne(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  const [clientId, ...rest] = args
  if (!clientId || rest.length > 0) throw usageError([DELETE])
  const deleted = await deleteClient(
    {
      store: context.store,
      lifetimes: tokenLifetimes(context.config),
      audit: context.audit,
    },
    clientId,
    'admin'
  )
  return deleted
    ? {
        data: { client_id: clientId, deleted },
        text: 'deleted; its tokens and consents are revoked',
      }
    : nothingToActOn({ client_id: clientId, deleted }, `no client ${clientId}`)
}

/** `clients list`, `clients count`, `clients show <client-id>` and `clients delete <client-id>`. */
export const clientsCommand: Command<CommandContext> = bySubcommand<CommandContext>({
  list: { usage: LIST, run: listClients },
  count: clientsCount,
  show: clientShow,
  delete: { usage: DELETE, run: deleteOne },
})

const USE_LABELS: Record<string, string> = { true: 'used      ', false: 'never used', null: '' }
