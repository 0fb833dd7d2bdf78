import { systemClock } from '../clock.ts'
import { ConfigError, loadConfig } from '../config.ts'
import { createRedisStore } from '../store/redis-store.ts'
import { UsageError } from './cli-context.ts'
import { runCommand, USAGE } from './run-command.ts'

/**
 * The admin CLI (`npm run admin -- …`): works on the same Redis as the running gateway, with the
 * same configuration. `--json` prints machine-readable output.
 */
const args = process.argv.slice(2)
const json = args.includes('--json')
const words = args.filter((arg) => arg !== '--json')

try {
  const config = loadConfig(process.env)
  if (!config.redis)
    throw new UsageError('REDIS_URL is not set: the admin CLI works on the gateway’s Redis')
  if (words.length === 0 || words[0] === 'help') throw new UsageError(USAGE)
  const store = createRedisStore(config.redis.url, config.redis.keyPrefix)
  try {
    const result = await runCommand({ config, store, clock: systemClock }, words)
    process.stdout.write(`${json ? JSON.stringify(result.data, null, 2) : result.text}\n`)
  } finally {
    await store.close()
  }
} catch (error) {
  if (!(error instanceof UsageError || error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exitCode = 2
}
