import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import {
  type GatewayProcess,
  runGatewayExpectingFailure,
  startGatewayProcess,
} from '../support/gateway-process.ts'
import { sendRaw } from '../support/raw-http.ts'

describe('the start command (standalone, embedded defaults)', () => {
  let gateway: GatewayProcess
  beforeAll(async () => {
    gateway = await startGatewayProcess()
  })
  afterAll(async () => {
    await gateway.stop()
  })

  it('warns loudly that the in-memory store is in use', () => {
    expect(gateway.output()).toMatch(/REDIS_URL is not set: using an in-memory store/)
  })

  it('warns that nobody can sign in until someone is allowed', () => {
    expect(gateway.output()).toContain('"event":"nobody_allowed"')
  })

  it('serves the metadata documents and registration', async () => {
    const metadata = (await (
      await fetch(`${gateway.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>
    expect(metadata.issuer).toBe(gateway.url)
    const prm = await fetch(`${gateway.url}/.well-known/oauth-protected-resource/echo/mcp`)
    expect(prm.status).toBe(200)
    const registration = await fetch(`${gateway.url}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_name: 'smoke', redirect_uris: ['http://127.0.0.1:9999/cb'] }),
    })
    expect(registration.status).toBe(201)
  })

  it('serves a bridged service as Traefik does: its /health in the open, not its /ready', async () => {
    expect((await fetch(`${gateway.url}/echo/health`)).status).toBe(200)
    for (const [method, path] of [
      ['GET', '/echo/ready'],
      ['POST', '/echo/ready'],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { method })
      expect(response.status, `${method} ${path}`).toBe(404)
      expect(await response.json()).toMatchObject({ error: 'not_found' })
    }
    expect((await fetch(`${gateway.url}/echo/mcp`)).status).toBe(401)
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200)
  })

  it('keeps idle connections longer than a reverse proxy pools them (Traefik: 90 s)', async () => {
    const { request } = await import('node:http')
    const keepAlive = await new Promise<unknown>((resolve, reject) => {
      const req = request(
        `${gateway.url}/health`,
        { headers: { Connection: 'keep-alive' } },
        (res) => {
          res.resume()
          resolve(res.headers['keep-alive'])
        }
      )
      req.on('error', reject)
      req.end()
    })
    expect(keepAlive).toBe('timeout=95')
  })

  it.each([
    [
      'headers over 16 KiB',
      `GET /authorize?state=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      '431 Request Header Fields Too Large',
      'the request line or headers are too large',
    ],
    ['a malformed request line', 'NOT HTTP\r\n\r\n', '400 Bad Request', 'the request is malformed'],
  ])(
    'answers %s with the OAuth error shape, and closes',
    async (_case, bytes, status, description) => {
      const { received } = await sendRaw(Number(new URL(gateway.url).port), bytes)
      const [head, body] = received.split('\r\n\r\n')
      expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status}\r\n`))
      expect(head).toContain('Content-Type: application/json')
      expect(JSON.parse(body ?? '')).toEqual({
        error: 'invalid_request',
        error_description: description,
      })
    }
  )

  it('never writes secrets to its logs', async () => {
    const registration = await fetch(`${gateway.url}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
    })
    const { client_secret, registration_access_token } = (await registration.json()) as Record<
      string,
      string
    >
    expect(gateway.output()).toContain('client.registered')
    expect(gateway.output()).not.toContain(client_secret)
    expect(gateway.output()).not.toContain(registration_access_token)
  })
})

describe('start-up warnings about settings that do less than they seem to', () => {
  it('says when no client can be added, and when METRICS_PORT opens nothing', async () => {
    const gateway = await startGatewayProcess({
      DYNAMIC_CLIENT_REGISTRATION: 'false',
      CLIENT_ID_METADATA_DOCUMENTS: 'false',
      METRICS_PORT: String(await freePort()),
      METRICS_TOKEN: 'metrics-token-of-this-test-0123456789',
    })
    try {
      expect(gateway.output()).toContain('"event":"no_new_clients"')
      expect(gateway.output()).toMatch(/"event":"metrics_not_served".*METRICS_PORT is set/)
    } finally {
      await gateway.stop()
    }
  })
})

describe('start-up configuration check', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ AUTH_ISSUER: 'https://auth.example.com/' }, 'AUTH_ISSUER'],
    [{ NODE_ENV: 'production' }, 'REDIS_URL'],
    // A setting of the services bridged in this process is the same kind of mistake.
    [{ MAX_SESSIONS: 'abc' }, 'MAX_SESSIONS'],
    // Peers are for bridges on their own listeners, never this process's services.
    [{ BRIDGE_PEERS: 'a=http://127.0.0.1:9', BRIDGE_REPLICA_ID: 'a' }, 'BRIDGE_PEERS'],
    // Said first: not a complaint about this replica's id, which only peers would need.
    [{ BRIDGE_PEERS: 'a=http://127.0.0.1:9' }, 'BRIDGE_PEERS'],
    // The documented way to rotate a pinned key: a typo must not become a stack trace.
    [{ JWT_PRIVATE_KEY_B64: 'garbage' }, 'JWT_PRIVATE_KEY_B64'],
  ])('stops on %o with a one-line message naming %s', async (env, variable) => {
    const { code, stderr } = await runGatewayExpectingFailure(env)
    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(new RegExp(`^configuration error: ${variable}: `))
  })
})

describe('a port another process holds', () => {
  it('stops with one line naming PORT (exit 1), not a stack', async () => {
    const holder = createServer().listen(0, '127.0.0.1')
    await once(holder, 'listening')
    const { port } = holder.address() as AddressInfo
    try {
      const { code, stderr } = await runGatewayExpectingFailure({ PORT: String(port) })
      expect(code).toBe(1)
      expect(stderr.trim().split('\n')).toEqual([
        `cannot listen on 127.0.0.1:${port} (PORT): the address is already in use (another process listens there)`,
      ])
    } finally {
      holder.close()
    }
  })
})

describe('a HOST that names no address', () => {
  it('stops with one line naming HOST (exit 1), not PORT', async () => {
    const { code, stderr } = await runGatewayExpectingFailure({ HOST: 'no-such-host.invalid' })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^cannot listen on no-such-host\.invalid \(HOST\): the name resolves to no address here \(E[A-Z_]+\)$/
      ),
    ])
  })
})

describe('an environment copied from the example', () => {
  it('starts with its empty NAME= lines, which count as unset', async () => {
    const gateway = await startGatewayProcess({
      GITHUB_CLIENT_ID: '',
      GITHUB_CLIENT_SECRET: '',
      JWT_PRIVATE_KEY_B64: '',
      INTERNAL_API_SECRET: '',
      METRICS_TOKEN: '',
      LOG_FORMAT: '',
      BRIDGE_REPLICA_ID: '',
      MCP_ECHO_ENABLED: '',
    })
    try {
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200)
    } finally {
      await gateway.stop()
    }
  })
})
