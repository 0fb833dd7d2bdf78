import { registrationUsed } from '../../admin/client-counts.ts'
import { deleteClient } from '../../clients/client-deletion.ts'
import { findClient } from '../../clients/client-registry.ts'
import { epochSeconds } from '../../clock.ts'
import { tokenLifetimes } from '../../oauth/revocation.ts'
import { keyPrefixes, keys } from '../../store/keys.ts'
import { type CommandContext, type CommandResult, UsageError } from '../cli-context.ts'
import { clientCountsCommand, registrationLifetimes, summary } from './client-counts.ts'

/** `clients list`, `clients count` and `clients delete <client-id>`. */
export async function clientsCommand(
  context: CommandContext,
  args: readonly string[]
): Promise<CommandResult> {
  const [action, clientId] = args
  const registry = {
    store: context.store,
    clock: context.clock,
    clientLifetime: context.config.ttl.client,
  }
  if (action === 'count') return clientCountsCommand(context, args.slice(1))
  if (action === 'list') {
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
  if (action === 'delete' && clientId) {
    const deleted = await deleteClient(
      { store: context.store, lifetimes: tokenLifetimes(context.config), audit: context.audit },
      clientId,
      'admin'
    )
    return {
      data: { client_id: clientId, deleted },
      text: deleted ? 'deleted; its tokens and consents are revoked' : 'no such client',
    }
  }
  throw new UsageError('clients list | clients count | clients delete <client-id>')
}

const USE_LABELS: Record<string, string> = { true: 'used      ', false: 'never used', null: '' }
