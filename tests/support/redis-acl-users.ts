import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, inject } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { createTestAuthServer, type TestAuthServer } from './auth-app.ts'
import { clearable } from './stores.ts'

/**
 * Redis ACL users on the run's Redis, made with the rules a test gives (as a managed Redis or a
 * careful operator would) and dropped by `close()`.
 */
export interface AclUsers {
  /** A new user with `rules`: its `REDIS_URL`, its name, and a key prefix of its own. */
  create(...rules: string[]): Promise<{ url: string; user: string; prefix: string }>
  /** Changes a user's rules, as an operator would while the gateway runs. */
  change(user: string, ...rules: string[]): Promise<void>
  close(): Promise<void>
}

/** In a rule, the key pattern of the user's own prefix (`~<prefix>*`). */
export const OWN_PREFIX = '~<prefix>*'

export function aclUsers(): AclUsers {
  const admin = new Redis(inject('redisUrl'))
  const users: string[] = []
  return {
    async create(...rules) {
      const user = `acl-${randomUUID()}`
      users.push(user)
      const prefix = `acl:${randomUUID()}:`
      const given = rules.map((rule) => (rule === OWN_PREFIX ? `~${prefix}*` : rule))
      await admin.acl('SETUSER', user, 'on', 'nopass', ...given)
      const url = new URL(inject('redisUrl'))
      url.username = user
      return { url: url.toString(), user, prefix }
    },
    async change(user, ...rules) {
      await admin.acl('SETUSER', user, ...rules)
    },
    async close() {
      for (const user of users) await admin.acl('DELUSER', user)
      await admin.quit()
    },
  }
}

/**
 * A test auth server whose Redis user loses `commands` once it has started (a start checks it may
 * run every command it sends), as an operator tightening its ACL rules would; given back after.
 */
export function useServerLosingCommands(
  commands: readonly string[],
  ready: (server: TestAuthServer) => void
): void {
  const users = aclUsers()
  let server: TestAuthServer | undefined
  let user = ''
  beforeAll(async () => {
    const created = await users.create('~*', '&*', '+@all')
    user = created.user
    const store = clearable(createRedisStore(created.url, created.prefix))
    server = await createTestAuthServer({}, { store })
    await users.change(user, ...commands.map((command) => `-${command}`))
    ready(server)
  })
  afterAll(async () => {
    await users.change(user, ...commands.map((command) => `+${command}`))
    await server?.close()
    await users.close()
  })
}
