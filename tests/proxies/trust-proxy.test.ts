import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestAuthServer, type TestAuthServer } from '../support/auth-app.ts'
import { freePort } from '../support/free-port.ts'
import { httpClientFrom } from '../support/http-from.ts'
import { type RunningProcess, requireBinary, startProcess } from './support/processes.ts'

/**
 * Behind a reverse proxy every request comes from the proxy's address. With TRUST_PROXY=true the
 * rate limits take the caller from the address the proxy appended to X-Forwarded-For, so callers
 * keep buckets of their own; without it they all share the proxy's. With the proxy's address as
 * TRUST_PROXY, the header is believed from the proxy alone: a neighbour that reaches the gateway
 * directly cannot pick its bucket. A real Caddy sits in front of three gateways (trusting, not,
 * and trusting its address), and callers connect from different loopback addresses.
 */
describe('per-caller limits behind a real Caddy (/usr/bin/caddy)', () => {
  const gateways: { auth: TestAuthServer; server: Server; proxyPort: number }[] = []
  let caddy: RunningProcess
  let dir: string
  const alice = httpClientFrom('127.0.0.2')
  const bob = httpClientFrom('127.0.0.3')
  const neighbour = httpClientFrom('127.0.0.4')

  beforeAll(async () => {
    const binary = requireBinary('/usr/bin/caddy', 'caddy')
    for (const trustProxy of ['true', 'false', '127.0.0.1']) {
      const auth = await createTestAuthServer({
        TRUST_PROXY: trustProxy,
        REGISTRATION_RATE_LIMIT: '2',
      })
      const server = serve({ fetch: auth.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
      if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
      gateways.push({ auth, server, proxyPort: await freePort() })
    }
    const site = ({ server, proxyPort }: (typeof gateways)[number]) => `
http://127.0.0.1:${proxyPort} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:${(server.address() as AddressInfo).port}
}
`
    dir = await mkdtemp(join(tmpdir(), 'gateway-caddy-trust-'))
    const config = join(dir, 'Caddyfile')
    await writeFile(config, `{\n\tadmin off\n\tauto_https off\n}\n${gateways.map(site).join('')}`)
    caddy = await startProcess(
      binary,
      ['run', '--config', config, '--adapter', 'caddyfile'],
      gateways.map((gateway) => gateway.proxyPort),
      { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') }
    )
  })
  afterAll(async () => {
    alice.close()
    bob.close()
    neighbour.close()
    await caddy?.stop()
    for (const { auth, server } of gateways) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await auth.close()
    }
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const register = async (
    client: typeof alice,
    port: number,
    headers: Record<string, string> = {}
  ) =>
    (
      await client.send(`http://127.0.0.1:${port}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
      })
    ).status

  it('gives each caller its own bucket with TRUST_PROXY=true', async () => {
    const port = gateways[0]?.proxyPort ?? 0
    expect(await register(alice, port), caddy.output()).toBe(201)
    expect(await register(alice, port)).toBe(201)
    expect(await register(alice, port)).toBe(429)
    // A forged X-Forwarded-For does not get the caller out of its bucket: Caddy's entry is last.
    expect(await register(alice, port, { 'X-Forwarded-For': '203.0.113.9' })).toBe(429)
    expect(await register(bob, port)).toBe(201)
    expect(await register(bob, port)).toBe(201)
    expect(await register(bob, port)).toBe(429)
  })

  it('puts every caller in the proxy’s one bucket without it', async () => {
    const port = gateways[1]?.proxyPort ?? 0
    expect(await register(alice, port), caddy.output()).toBe(201)
    expect(await register(alice, port)).toBe(201)
    expect(await register(bob, port)).toBe(429)
  })

  it('believes X-Forwarded-For from the listed proxy only with TRUST_PROXY=<its address>', async () => {
    const gateway = gateways[2]
    if (!gateway) throw new Error('the third gateway did not start')
    const port = gateway.proxyPort
    expect(await register(alice, port), caddy.output()).toBe(201)
    expect(await register(alice, port)).toBe(201)
    expect(await register(alice, port)).toBe(429)
    expect(await register(bob, port)).toBe(201)
    // Straight to the gateway, each request claiming another address: one bucket, its own.
    const direct = (gateway.server.address() as AddressInfo).port
    const claims = ['203.0.113.1', '203.0.113.2', '203.0.113.3']
    const answers = []
    for (const claim of claims) {
      answers.push(await register(neighbour, direct, { 'X-Forwarded-For': claim }))
    }
    expect(answers).toEqual([201, 201, 429])
    const recorded = gateway.auth.logs.filter((line) => line.event === 'client.registered')
    expect(recorded.map((line) => line.caller)).toEqual([
      '127.0.0.2',
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
      '127.0.0.4',
    ])
  })
})
