import { deleteClient } from '../../clients/client-deletion.ts'
import { findClient } from '../../clients/client-registry.ts'
import { tokenLifetimes } from '../../oauth/revocation.ts'
import { keyPrefixes } from '../../store/keys.ts'
import { type CliContext, type CommandResult, UsageError } from '../cli-context.ts'

/** `clients list` and `clients delete <client-id>`. */
export async function clientsCommand(
  context: CliContext,
  args: readonly string[]
): Promise<CommandResult> {
  const [action, clientId] = args
  const registry = {
    store: context.store,
    clock: context.clock,
    clientLifetime: context.config.ttl.client,
  }
  if (action === 'list') {
    const clients = []
    for await (const key of context.store.scan(keyPrefixes.client)) {
      const client = await findClient(registry, key.slice(keyPrefixes.client.length))
      if (client) {
        clients.push({
          client_id: client.client_id,
          client_name: client.metadata.client_name ?? '',
          issued_at: new Date(client.client_id_issued_at * 1000).toISOString(),
          redirect_uris: client.metadata.redirect_uris,
        })
      }
    }
    clients.sort((a, b) => a.issued_at.localeCompare(b.issued_at))
    const text = clients.map(
      (c) => `${c.client_id}  ${c.issued_at}  ${c.client_name}  ${c.redirect_uris.join(' ')}`
    )
    return { data: clients, text: text.length ? text.join('\n') : 'no clients' }
  }
  if (action === 'delete' && clientId) {
    const deleted = await deleteClient(
      { store: context.store, lifetimes: tokenLifetimes(context.config) },
      clientId
    )
    return {
      data: { client_id: clientId, deleted },
      text: deleted ? 'deleted; its tokens and consents are revoked' : 'no such client',
    }
  }
  throw new UsageError('clients list | clients delete <client-id>')
}
