import { generateKeyPairSync } from 'node:crypto'
import { expect } from 'vitest'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import type { Store } from '../../auth/src/store/store.ts'
import { runGatewayExpectingFailure } from './gateway-process.ts'

/**
 * How a store at a `REDIS_URL` that cannot serve fails: to its operations, and to the auth
 * server's start.
 */
export async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error('expected the store to fail')
    },
    (error: unknown) => error
  )
}

export async function scanAll(store: Store): Promise<string[]> {
  const found: string[] = []
  for await (const key of store.scan('')) found.push(key)
  return found
}

/** A ping, a write and a scan on a fresh store at `url`: how each failed. */
export async function failuresAt(url: string): Promise<unknown[]> {
  const store = createRedisStore(url, 'refused:', 2_000)
  try {
    return [
      await failureOf(store.ping()),
      await failureOf(store.put('key', 'value')),
      await failureOf(scanAll(store)),
    ]
  } finally {
    await store.close()
  }
}

/**
 * The auth server's start at `url`, with a pinned signing key or not: exit 2 with one line
 * naming what is wrong with `REDIS_URL`, none of `secrets` in it.
 */
export async function expectStartRefused(
  url: string,
  says: RegExp,
  pinned: boolean,
  secrets: readonly string[] = []
): Promise<void> {
  const pinnedKey = Buffer.from(
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    })
  ).toString('base64')
  const { code, stderr } = await runGatewayExpectingFailure(
    {
      GATEWAY_MODE: 'auth',
      REDIS_URL: url,
      ALLOWED_GITHUB_USERS: 'octocat',
      ...(pinned ? { JWT_PRIVATE_KEY_B64: pinnedKey } : {}),
    },
    { timeoutMs: 20_000 }
  )
  expect(code).toBe(2)
  const lines = stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^configuration error: REDIS_URL: /)
  expect(lines[0]).toMatch(says)
  for (const secret of secrets) expect(stderr).not.toContain(secret)
}
