import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { keys } from '../../auth/src/store/keys.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import type { Store } from '../../auth/src/store/store.ts'
import { admin } from '../support/admin-cli.ts'
import { createTestAuthServer, type TestAuthServer } from '../support/auth-app.ts'
import { freePort } from '../support/free-port.ts'
import { registerTestClient } from '../support/oauth-flow.ts'

// What a hand edit or a cut-short write leaves: not the JSON the gateway wrote.
const DAMAGED = '{"client_id":'

describe('a record changed outside the gateway', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer()
  })
  afterAll(() => server.close())

  it('is a server error at the endpoint, logged by its key without a stack', async () => {
    const client = await registerTestClient(server)
    await server.store.put(keys.client(client.client_id), DAMAGED)
    const response = await server.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'any',
        code_verifier: 'v'.repeat(43),
        redirect_uri: 'https://client.example.com/callback',
        client_id: client.client_id,
        client_secret: client.client_secret ?? '',
      }),
    })
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({
      error: 'server_error',
      error_description: 'the server could not complete the request',
    })
    const logged = server.logs.filter((line) => line.event === 'damaged_record')
    expect(logged).toEqual([
      expect.objectContaining({ key: `client:${client.client_id}`, path: '/token', level: 50 }),
    ])
    expect(logged[0]).not.toHaveProperty('err')
  })
})

describe('the admin CLI and the start, on a damaged record', () => {
  const prefix = `damaged-${randomUUID()}:`
  const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix }
  let store: Store
  beforeAll(() => {
    store = createRedisStore(env.REDIS_URL, prefix)
  })
  afterAll(() => store.close())

  it('names the record in one line, and deletes a damaged client', async () => {
    await store.put(keys.client('damaged-client'), DAMAGED)
    const listed = await admin(['clients', 'list'], env)
    expect(listed.code).toBe(1)
    expect(listed.stdout).toBe('')
    expect(listed.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^the record at client:damaged-client is damaged \(not JSON\): it was changed outside the gateway; delete that key/
      ),
    ])

    // One of its token families is damaged too: revoking it must get past that.
    await store.put(keys.refreshFamily('damaged-family'), DAMAGED)
    await store.addToSet(keys.clientFamilies('damaged-client'), 'damaged-family')
    const deleted = await admin(['clients', 'delete', 'damaged-client'], env)
    expect(deleted.code).toBe(0)
    expect(await store.get(keys.client('damaged-client'))).toBeNull()
    expect(await store.get(keys.refreshFamily('damaged-family'))).toBeNull()
    expect(await store.get(keys.revokedFamily('damaged-family'))).not.toBeNull()
    expect((await admin(['clients', 'list'], env)).stdout).toBe('no clients\n')
  })

  it('stops the start on a damaged signing-key ring with one line, exit 1', async () => {
    await store.put(keys.signingKeys(), JSON.stringify({ current: { kty: 'EC' }, previous: [] }))
    const child = spawn(process.execPath, ['auth/src/main.ts'], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), ...env },
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const [code] = (await once(child, 'exit')) as [number]
    expect(code).toBe(1)
    expect(stderr).toBe(
      'start-up error: the record at signing-keys is damaged (the current key: not an ES256 or RS256 key): delete that key, then restore the newest backup (npm run admin -- restore) to bring the keys back; with no backup, the next start makes a new ring, and tokens signed before stop verifying\n'
    )
  })
})
