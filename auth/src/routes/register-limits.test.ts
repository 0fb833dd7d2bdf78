import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { MAX_REGISTRATION_BODY_BYTES } from '../clients/client-metadata.ts'
import { MAX_CLIENT_RECORD_BYTES } from '../clients/client-registry.ts'
import { keys } from '../store/keys.ts'
import { startRefreshFamily } from '../tokens/refresh-tokens.ts'
import { upstreamGrants } from '../upstream/upstream-grants.ts'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

interface Registered {
  client_id: string
  client_secret?: string
  registration_access_token: string
}

describe('what an anonymous registration may hold, and for how long', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: 'alice' })
  })
  afterAll(async () => {
    await server.close()
  })

  /** A request from one address, as the socket would report it. */
  const from = (remoteAddress: string, path: string, init?: RequestInit) =>
    Promise.resolve(
      server.app.request(`${TEST_ISSUER}${path}`, init, {
        incoming: { socket: { remoteAddress } },
      })
    )
  /** Each registration from an address of its own, so the per-caller limit stays out of the way. */
  const register = async (body: Record<string, unknown>) => {
    const response = await from(`198.51.100.${Math.floor(Math.random() * 250)}`, '/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(response.status, await response.clone().text()).toBe(201)
    return (await response.json()) as Registered
  }
  /** An RFC 7592 update of `client` to `metadata`, with its credentials. */
  const update = (client: Registered, metadata: Record<string, unknown>) =>
    server.request(`/register/${client.client_id}`, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${client.registration_access_token}`,
      },
      body: JSON.stringify({
        client_id: client.client_id,
        client_secret: client.client_secret,
        ...metadata,
      }),
    })
  const deviceClient = () =>
    register({ redirect_uris: [], grant_types: [DEVICE_GRANT], token_endpoint_auth_method: 'none' })
  const startDevice = (client: Registered) =>
    from('198.51.100.1', '/device_authorization', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.client_id }).toString(),
    })
  const ttlOf = (client: Registered) => server.store.ttl(keys.client(client.client_id))
  const lifetime = () => server.config.ttl.client

  it(`refuses a registration body over ${MAX_REGISTRATION_BODY_BYTES} bytes with 413`, async () => {
    const base = { redirect_uris: ['https://app.example.com/cb'] }
    const padding = (size: number) => 'x'.repeat(size - JSON.stringify({ ...base, x: '' }).length)
    const atLimit = JSON.stringify({ ...base, x: padding(MAX_REGISTRATION_BODY_BYTES) })
    expect(atLimit).toHaveLength(MAX_REGISTRATION_BODY_BYTES)
    const post = (body: string) => registerClient(server, JSON.parse(body))
    expect((await post(atLimit)).status).toBe(201)
    const over = await post(
      JSON.stringify({ ...base, x: padding(MAX_REGISTRATION_BODY_BYTES + 1) })
    )
    expect(over.status).toBe(413)
    expect(await over.json()).toMatchObject({ error: 'invalid_request' })
  })

  it(`refuses an update body over ${MAX_REGISTRATION_BODY_BYTES} bytes with 413, as a registration`, async () => {
    const client = await register({ redirect_uris: ['https://app.example.com/cb'] })
    const padded = (padding: number) =>
      update(client, { redirect_uris: ['https://app.example.com/cb'], x: 'x'.repeat(padding) })
    expect((await padded(100)).status).toBe(200)
    const over = await padded(MAX_REGISTRATION_BODY_BYTES)
    expect(over.status).toBe(413)
    expect(await over.json()).toMatchObject({ error: 'invalid_request' })
  })

  it(`never stores a client record over ${MAX_CLIENT_RECORD_BYTES} bytes (updates included)`, async () => {
    const client = await register({ redirect_uris: ['https://app.example.com/cb'] })
    const before = await server.store.get(keys.client(client.client_id))
    const redirectUris = Array.from(
      { length: 15 },
      (_, i) => `https://app.example.com/${i}/${'p'.repeat(1_900)}`
    )
    const response = await update(client, { redirect_uris: redirectUris })
    expect([400, 413]).toContain(response.status)
    expect(await response.json()).toHaveProperty('error_description')
    expect(await server.store.get(keys.client(client.client_id))).toBe(before)
  })

  it('lets a registration nobody uses expire after CLIENT_UNUSED_LIFETIME', async () => {
    const client = await deviceClient()
    expect(server.config.ttl.unusedClient).toBe(3600)
    expect(await ttlOf(client)).toBeLessThanOrEqual(3600)
    expect(await ttlOf(client)).toBeGreaterThan(3600 - 5)
  })

  it('gives a used registration CLIENT_LIFETIME from its use, renewed at most hourly', async () => {
    const client = await deviceClient()
    expect((await startDevice(client)).status).toBe(200)
    expect(await ttlOf(client)).toBeGreaterThan(lifetime() - 5)

    // Less than an hour of its lifetime gone: a use writes nothing.
    await server.store.expire(keys.client(client.client_id), lifetime() - 600)
    server.clock.advance(600_000)
    expect((await startDevice(client)).status).toBe(200)
    expect(await ttlOf(client)).toBeLessThanOrEqual(lifetime() - 600)
    // More than an hour gone: the use renews it.
    await server.store.expire(keys.client(client.client_id), lifetime() - 3_700)
    server.clock.advance(3_100_000)
    expect((await startDevice(client)).status).toBe(200)
    expect(await ttlOf(client)).toBeGreaterThan(lifetime() - 5)
    // A process reads a busy client's lifetime at most once a minute: within the minute after a
    // use, a lifetime shortened behind its back is not noticed, a minute later it is.
    await server.store.expire(keys.client(client.client_id), lifetime() - 3_700)
    server.clock.advance(30_000)
    expect((await startDevice(client)).status).toBe(200)
    expect(await ttlOf(client)).toBeLessThanOrEqual(lifetime() - 3_700)
    server.clock.advance(31_000)
    expect((await startDevice(client)).status).toBe(200)
    expect(await ttlOf(client)).toBeGreaterThan(lifetime() - 5)
  })

  it('counts a successful token request as a use, and a failed one not', async () => {
    const client = await register({
      redirect_uris: ['https://app.example.com/cb'],
      token_endpoint_auth_method: 'client_secret_post',
    })
    // The development sign-in (no GitHub configured) re-checks the user from this grant.
    const subject = { id: 'dev-alice', login: 'alice' }
    await upstreamGrants(server.store, 'development').save(
      subject.id,
      { accessToken: 'alice' },
      600
    )
    const refreshToken = await startRefreshFamily(
      server.store,
      server.clock,
      {
        familyId: randomUUID(),
        clientId: client.client_id,
        subject,
        scopes: ['mcp'],
        resources: [server.config.protectedResources[0]?.resource ?? ''],
      },
      { refreshTokenTtl: 3600, accessTokenTtl: 3600 }
    )
    const refresh = (secret: string) =>
      from('198.51.100.2', '/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: client.client_id,
          client_secret: secret,
        }).toString(),
      })
    expect((await refresh('wrong')).status).toBe(401)
    expect(await ttlOf(client)).toBeLessThanOrEqual(3600)
    const response = await refresh(client.client_secret ?? '')
    expect(response.status, await response.clone().text()).toBe(200)
    expect(await ttlOf(client)).toBeGreaterThan(lifetime() - 5)
  })

  it('limits registrations per caller and for all callers together', async () => {
    const limited = await createTestAuthServer({
      REGISTRATION_RATE_LIMIT: '2',
      REGISTRATION_GLOBAL_RATE_LIMIT: '5',
    })
    try {
      const post = (remoteAddress: string) =>
        limited.app.request(
          `${TEST_ISSUER}/register`,
          {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
          },
          { incoming: { socket: { remoteAddress } } }
        )
      const statuses = async (remoteAddress: string, count: number) => {
        const result: number[] = []
        for (let i = 0; i < count; i++) result.push((await post(remoteAddress)).status)
        return result
      }
      expect(await statuses('192.0.2.1', 4)).toEqual([201, 201, 429, 429])
      expect(await statuses('192.0.2.2', 2)).toEqual([201, 201])
      expect(await statuses('192.0.2.3', 2)).toEqual([201, 429])
      const refused = await post('192.0.2.4')
      expect(refused.status).toBe(429)
      expect(await refused.json()).toMatchObject({ error: 'temporarily_unavailable' })
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      let clients = 0
      for await (const _ of limited.store.scan('client:')) clients++
      expect(clients).toBe(5)
    } finally {
      await limited.close()
    }
  })
})

describe('registrations an hour', () => {
  it('caps a caller at ten times its limit a minute, so a patient caller cannot pile up clients', async () => {
    const server = await createTestAuthServer({ REGISTRATION_RATE_LIMIT: '2' })
    try {
      const post = () =>
        server.app.request(
          `${TEST_ISSUER}/register`,
          {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
          },
          { incoming: { socket: { remoteAddress: '192.0.2.9' } } }
        )
      const hour = 3_600_000
      server.clock.advance(hour - (server.clock.now() % hour))
      for (let minute = 0; minute < 10; minute++) {
        expect([(await post()).status, (await post()).status]).toEqual([201, 201])
        server.clock.advance(60_000)
      }
      const refused = await post()
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60)
      server.clock.advance(hour - (server.clock.now() % hour))
      expect((await post()).status).toBe(201)
    } finally {
      await server.close()
    }
  })
})

describe('registration lifetimes at the edges', () => {
  it('CLIENT_LIFETIME=0: unused registrations still expire, used ones never', async () => {
    const server = await createTestAuthServer({ CLIENT_LIFETIME: '0' })
    try {
      const response = await registerClient(server, {
        redirect_uris: [],
        grant_types: [DEVICE_GRANT],
        token_endpoint_auth_method: 'none',
      })
      const { client_id } = (await response.json()) as Registered
      expect(await server.store.ttl(keys.client(client_id))).toBeGreaterThan(3600 - 5)
      const device = await server.request('/device_authorization', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id }).toString(),
      })
      expect(device.status).toBe(200)
      expect(await server.store.ttl(keys.client(client_id))).toBeNull()
      expect(await server.store.get(keys.client(client_id))).not.toBeNull()
    } finally {
      await server.close()
    }
  })

  it('CLIENT_UNUSED_LIFETIME=0: a registration lives CLIENT_LIFETIME from the start', async () => {
    const server = await createTestAuthServer({ CLIENT_UNUSED_LIFETIME: '0' })
    try {
      const response = await registerClient(server, { redirect_uris: ['https://a.example/cb'] })
      const { client_id } = (await response.json()) as Registered
      expect(await server.store.ttl(keys.client(client_id))).toBeGreaterThan(
        server.config.ttl.client - 5
      )
    } finally {
      await server.close()
    }
  })
})
