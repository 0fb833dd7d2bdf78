import { registrationUsed } from '../../admin/client-counts.ts'
import { findClient } from '../../clients/client-registry.ts'
import { epochSeconds } from '../../clock.ts'
import { keys } from '../../store/keys.ts'
import { type CliContext, type CommandResult, nothingToActOn } from '../cli-context.ts'
import { type Subcommand, type UsageLine, usageError } from '../command.ts'
import { registrationLifetimes } from './client-counts.ts'

const SHOW: UsageLine = {
  form: 'clients show <client-id>',
  about: 'one registration, without secrets',
}

/**
 * `clients show <client-id>`: a registration as its owner sees it (RFC 7591 metadata), plus its
 * lifetime and how many token families it holds; never a secret or a hash.
 */
export const clientShow: Subcommand<CliContext> = { usage: SHOW, run: showClient }

async function showClient(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  const [clientId, ...rest] = args
  if (!clientId || rest.length > 0) throw usageError([SHOW])
  const { store, clock, config } = context
  const client = await findClient({ store, clock, clientLifetime: config.ttl.client }, clientId)
  if (!client) return nothingToActOn({ client_id: clientId, found: false }, `no client ${clientId}`)
  const ttl = await store.ttl(keys.client(clientId))
  const families = await store.setMembers(keys.clientFamilies(clientId))
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString()
  const data = {
    client_id: client.client_id,
    issued_at: iso(client.client_id_issued_at),
    expires_at: ttl === null ? null : iso(epochSeconds(clock) + ttl),
    confidential: client.client_secret_hash !== undefined,
    used: registrationUsed(client, ttl, epochSeconds(clock), registrationLifetimes(config)),
    ...(client.client_secret_expires_at
      ? { client_secret_expires_at: iso(client.client_secret_expires_at) }
      : {}),
    token_families: families.length,
    metadata: client.metadata,
  }
  const text = [
    `${data.client_id}  ${client.metadata.client_name ?? '(no name)'}`,
    `issued ${data.issued_at}, expires ${data.expires_at ?? 'never'}${data.used === null ? '' : data.used ? ', used' : ', never used'}`,
    `${data.confidential ? 'confidential' : 'public'} client, ${data.token_families} token family(ies)`,
    ...Object.entries(client.metadata).map(
      ([name, value]) => `  ${name}: ${JSON.stringify(value)}`
    ),
  ].join('\n')
  return { data, text }
}
