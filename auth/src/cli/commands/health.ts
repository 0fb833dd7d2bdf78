import {
  type ActiveSigningKey,
  activeSigningKey,
  checkHealth,
  type HealthCheck,
  healthTarget,
} from '../../admin/health.ts'
import { epochSeconds, systemClock } from '../../clock.ts'
import { loadConfig } from '../../config.ts'
import { announcedReplicas, type ReplicaRecord } from '../../replicas/replica-registry.ts'
import { settingsInDispute } from '../../replicas/shared-settings.ts'
import { createRedisStore } from '../../store/redis-store.ts'
import { type CommandResult, parseCommandLine } from '../cli-context.ts'
import { type UsageLine, usageError, usageText } from '../command.ts'

export const healthUsage: readonly UsageLine[] = [
  {
    form: 'health [--url URL]',
    about: 'check the gateway, its metadata, keys and services (exit 1 on failure)',
  },
]

/**
 * `health`: checks the deployment over HTTP as clients reach it. Exits non-zero when a check
 * fails. With REDIS_URL it also knows the current signing key and checks that it is published.
 */
export async function healthCommand(
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[]
): Promise<CommandResult> {
  const { values, positionals } = parseCommandLine(
    args,
    { url: { type: 'string' } },
    usageText(healthUsage)
  )
  if (positionals.length > 0) throw usageError(healthUsage)
  const url = values.url?.replace(/\/+$/, '')
  if (url !== undefined && !URL.canParse(url)) {
    throw usageError(healthUsage, `--url: not a URL: ${values.url}`)
  }
  const config = loadConfig(url ? { ...env, AUTH_ISSUER: url } : env)
  const store = config.redis
    ? createRedisStore(config.redis.url, config.redis.keyPrefix)
    : undefined
  let activeKey: ActiveSigningKey | undefined
  let kidNote = 'current signing key not checked: REDIS_URL is not set here'
  let replicas: ReplicaRecord[] | undefined
  try {
    activeKey = await activeSigningKey(store, config.pinnedSigningKey)
    if (activeKey) kidNote = `current signing key ${activeKey.kid}`
    else if (store) kidNote = 'current signing key not checked: the store holds no key ring yet'
    replicas = store && (await announcedReplicas(store))
  } catch {
    kidNote = 'current signing key not checked: the store did not answer from here'
  } finally {
    await store?.close()
  }
  const checks = [
    ...(await checkHealth(healthTarget(config, activeKey, epochSeconds(systemClock)))),
    ...(replicas ? [replicaAgreement(replicas)] : []),
  ]
  const failed = checks.filter((check) => !check.ok)
  const lines = [
    `${config.issuer} (${kidNote})`,
    ...checks.map(
      (c) =>
        `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}  ${c.url}${c.detail === 'ok' ? '' : `: ${c.detail}`}`
    ),
    failed.length
      ? `${failed.length} of ${checks.length} checks failed`
      : `all ${checks.length} checks passed`,
  ]
  return {
    data: {
      issuer: config.issuer,
      active_kid: activeKey?.kid ?? null,
      replicas:
        replicas?.map(({ id, host, pid, startedAt, stoppedAt }) => ({
          id,
          host,
          pid,
          startedAt,
          stoppedAt,
        })) ?? null,
      healthy: failed.length === 0,
      checks,
    },
    text: lines.join('\n'),
    exitCode: failed.length ? 1 : 0,
  }
}

/**
 * The auth replicas on the store (as they announce themselves, a stopped one for a minute more)
 * agree on their shared settings: a rollout left half done, or one replica configured apart,
 * fails the check.
 */
function replicaAgreement(replicas: readonly ReplicaRecord[]): HealthCheck {
  const base = { name: 'replicas', url: 'store' }
  const stopped = replicas.filter((replica) => replica.stoppedAt !== undefined).length
  const running = `${replicas.length - stopped} running${stopped > 0 ? ` (and ${stopped} stopped within a minute)` : ''}`
  const disputes = settingsInDispute(replicas)
  if (disputes.length === 0) return { ...base, ok: true, detail: `${running}, same settings` }
  const told = disputes.map(
    ({ setting, groups }) => `${setting} (${groups.map((ids) => ids.join(', ')).join(' | ')})`
  )
  return { ...base, ok: false, detail: `${running}, settings differ: ${told.join('; ')}` }
}
