import { AdminRefusal } from '../admin/admin-refusal.ts'
import { systemClock } from '../clock.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { createRedisStore } from '../store/redis-store.ts'
import { type CommandResult, UsageError } from './cli-context.ts'
import { isCommand, offlineCommands, runCommand, USAGE } from './run-command.ts'

/**
 * The admin CLI (`npm run admin -- …`): works on the same Redis as the running gateway, with the
 * same configuration. `--json` prints machine-readable output. Exit status: 0 done, 1 refused or
 * a check failed, 2 not understood or misconfigured.
 */
const args = process.argv.slice(2)
const json = args.includes('--json')
const words = args.filter((arg) => arg !== '--json')

async function run(name: string, rest: readonly string[]): Promise<CommandResult> {
  const offline = Object.hasOwn(offlineCommands, name) ? offlineCommands[name] : undefined
  if (offline) return offline(process.env, rest)
  const config = loadConfig(process.env)
  if (!config.redis)
    throw new UsageError('REDIS_URL is not set: the admin CLI works on the gateway’s Redis')
  const store = createRedisStore(config.redis.url, config.redis.keyPrefix)
  try {
    return await runCommand({ config, store, clock: systemClock }, [name, ...rest])
  } finally {
    await store.close()
  }
}

try {
  const [name, ...rest] = words
  if (!name || !isCommand(name)) throw new UsageError(USAGE)
  const result = await run(name, rest)
  process.stdout.write(`${json ? JSON.stringify(result.data, null, 2) : result.text}\n`)
  process.exitCode = result.exitCode ?? 0
} catch (error) {
  if (error instanceof AdminRefusal) {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 1
  } else if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 2
  } else throw error
}
