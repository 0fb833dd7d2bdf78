import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts'
import { type RedisServer, startRedisServer } from '../support/redis-server.ts'

/** A Redis crash (AOF on) loses no registered client and no signing key. */
describe('Redis restart', () => {
  let redis: RedisServer
  let gateway: GatewayProcess
  beforeAll(async () => {
    redis = await startRedisServer()
    gateway = await startGatewayProcess({ REDIS_URL: redis.url })
  })
  afterAll(async () => {
    await gateway?.stop()
    await redis?.stop()
  })

  it('keeps registered clients and keys, and the gateway recovers on its own', async () => {
    const registration = await fetch(`${gateway.url}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_name: 'survivor',
        redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
        token_endpoint_auth_method: 'client_secret_post',
      }),
    })
    expect(registration.status).toBe(201)
    const client = (await registration.json()) as Record<string, string>
    const jwksBefore = await (await fetch(`${gateway.url}/jwks`)).json()

    await redis.restart()

    const read = async () =>
      fetch(client.registration_client_uri as string, {
        headers: { Authorization: `Bearer ${client.registration_access_token}` },
      })
    let response = await read()
    for (let attempt = 0; response.status !== 200 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      response = await read()
    }
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      client_id: client.client_id,
      client_name: 'survivor',
    })
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200)

    // A restarted gateway process finds the same signing keys.
    await gateway.stop()
    gateway = await startGatewayProcess({ REDIS_URL: redis.url })
    expect(await (await fetch(`${gateway.url}/jwks`)).json()).toEqual(jwksBefore)
  })

  it('reports not ready while Redis is down, never crashing', async () => {
    await redis.stop()
    const ready = await fetch(`${gateway.url}/ready`)
    expect(ready.status).toBe(503)
    const registration = await fetch(`${gateway.url}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://a.example/cb'] }),
    })
    expect(registration.status).toBe(503)
    expect(registration.headers.get('retry-after')).toBe('5')
    expect(await registration.json()).toMatchObject({ error: 'temporarily_unavailable' })
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200)
  })
})
