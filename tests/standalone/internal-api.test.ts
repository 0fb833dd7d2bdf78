import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts'

const SECRET = 'the-internal-secret-of-this-test-gateway-0123456789'

/** Fetches from a listener that may come up a moment after the public one. */
async function fetchSoon(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init)
    } catch (error) {
      if (attempt >= 20) throw error
      await sleep(100)
    }
  }
}

describe('the started gateway serves the internal API on its own port only', () => {
  let gateway: GatewayProcess
  let internalPort: number
  beforeAll(async () => {
    internalPort = await freePort()
    gateway = await startGatewayProcess({
      GATEWAY_MODE: 'auth',
      INTERNAL_API_SECRET: SECRET,
      INTERNAL_PORT: String(internalPort),
    })
  })
  afterAll(async () => {
    await gateway.stop()
  })

  it('answers on INTERNAL_PORT, with the secret only', async () => {
    const url = `http://127.0.0.1:${internalPort}/internal/users/4242`
    const anonymous = await fetchSoon(url)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ error: 'invalid_token' })
    const known = await fetch(url, { headers: { Authorization: `Bearer ${SECRET}` } })
    expect(known.status).toBe(404)
    expect(await known.json()).toMatchObject({
      error: 'not_found',
      error_description: expect.stringContaining('no live grant'),
    })
    expect(gateway.output()).toContain('internal_api_listening')
    expect(gateway.output()).not.toContain(SECRET)
  })

  it('serves its metrics there, with those of the process itself', async () => {
    await fetchSoon(`${gateway.url}/health`)
    const response = await fetchSoon(`http://127.0.0.1:${internalPort}/metrics`, {
      headers: { Authorization: `Bearer ${SECRET}` },
    })
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toMatch(/^auth_http_requests_total\{route="\/health",status="2xx"/m)
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m)
  })

  it('serves none of it on the public port', async () => {
    const response = await fetch(`${gateway.url}/internal/users/4242/github-token`, {
      headers: { Authorization: `Bearer ${SECRET}` },
    })
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error_description: 'no such endpoint' })
  })
})

describe('without INTERNAL_API_SECRET', () => {
  it('opens no internal port', async () => {
    const internalPort = await freePort()
    const gateway = await startGatewayProcess({
      GATEWAY_MODE: 'auth',
      INTERNAL_PORT: String(internalPort),
    })
    try {
      await sleep(300)
      await expect(fetch(`http://127.0.0.1:${internalPort}/internal/users/1`)).rejects.toThrow()
      expect(gateway.output()).not.toContain('internal_api_listening')
    } finally {
      await gateway.stop()
    }
  })
})
