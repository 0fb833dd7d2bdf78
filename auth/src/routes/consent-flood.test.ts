import { Agent, request, type Server } from 'node:http'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../tests/support/free-port.ts'
import { newPkce } from '../../../tests/support/oauth-flow.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import { systemClock } from '../clock.ts'
import { composeAuthServer } from '../compose-auth-server.ts'
import { loadConfig } from '../config.ts'
import { createLogger } from '../logger.ts'
import { createMemoryStore } from '../store/memory-store.ts'
import type { Store } from '../store/store.ts'

/**
 * Every consent page shown stores a consent request, and every approval without a session a
 * pending sign-in, before anyone has signed in. One address hammering both for 10 seconds must
 * leave only a bounded amount behind, while another address is served as usual.
 */
const FLOOD_MS = 10_000
/** Pages the flood sends at least, over several of the consent page's limits. */
const FLOOD_PAGES = 200
/**
 * What the flood may leave at most (it lasts under a minute): the flooder's 60 consent requests and 60 pending sign-ins a minute,
 * twice when the run straddles a minute; the other caller's (two records a visit, a visit each
 * 500 ms); the counters (two kinds, three callers counting the total, two windows).
 */
const KEY_BOUND = 2 * 60 + 2 * 60 + 2 * (FLOOD_MS / 500 + 1) + 2 * 3 * 2

interface Gateway {
  readonly url: string
  readonly store: Store
  close(): Promise<void>
}

/** The real app on a loopback port, its sign-in the development one (no GitHub needed). */
async function startGateway(store: Store): Promise<Gateway> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const config = loadConfig({ AUTH_ISSUER: url, PORT: String(port), LOG_LEVEL: 'silent' })
  const logger = createLogger('silent')
  const { app } = await composeAuthServer({ config, store, clock: systemClock, logger })
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }) as Server
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
  return {
    url,
    store,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

interface Reply {
  readonly status: number
  readonly contentType: string | undefined
  readonly retryAfter: string | undefined
  readonly location: string | undefined
  readonly cookies: string[]
  readonly body: string
}

/** A browser-less caller with its own source address on the loopback network. */
function caller(localAddress: string) {
  const agent = new Agent({ keepAlive: true, localAddress, maxSockets: 8 })
  const send = (url: string, init: { method?: string; headers?: object; body?: string } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const outgoing = request(
        url,
        { agent, method: init.method ?? 'GET', headers: { ...init.headers } },
        (incoming) => {
          let body = ''
          incoming.setEncoding('utf8')
          incoming.on('data', (chunk: string) => {
            body += chunk
          })
          incoming.on('end', () =>
            resolve({
              status: incoming.statusCode ?? 0,
              contentType: incoming.headers['content-type'],
              retryAfter: incoming.headers['retry-after'],
              location: incoming.headers.location,
              cookies: (incoming.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] ?? ''),
              body,
            })
          )
        }
      )
      outgoing.on('error', reject)
      outgoing.end(init.body)
    })

  /** Opens the consent page; posts the decision back when it came. */
  const visit = async (gateway: Gateway, clientId: string, decide: boolean) => {
    const page = await send(authorizeUrl(gateway, clientId))
    if (page.status !== 200 || !decide) return { page, decision: undefined }
    const form = new URLSearchParams()
    for (const [, name = '', value = ''] of page.body.matchAll(
      /<input type="hidden" name="([^"]*)" value="([^"]*)">/g
    )) {
      form.append(name, value.replace(/&amp;/g, '&'))
    }
    form.set('decision', 'approve')
    const decision = await send(`${gateway.url}/authorize`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: gateway.url,
        Cookie: page.cookies.join('; '),
      },
      body: form.toString(),
    })
    return { page, decision }
  }
  return { visit, close: () => agent.destroy() }
}

function authorizeUrl(gateway: Gateway, clientId: string): string {
  return `${gateway.url}/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: 'https://client.example.com/callback',
    code_challenge: newPkce().challenge,
    code_challenge_method: 'S256',
    state: 's'.repeat(2000),
  })}`
}

async function registerClient(gateway: Gateway): Promise<string> {
  const response = await fetch(`${gateway.url}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Flood',
      redirect_uris: ['https://client.example.com/callback'],
      token_endpoint_auth_method: 'none',
    }),
  })
  return ((await response.json()) as { client_id: string }).client_id
}

async function countKeys(store: Store): Promise<number> {
  let count = 0
  for await (const _ of store.scan('')) count++
  return count
}

describe('a flood of consent pages and approvals without a session', () => {
  const gateways: Record<string, Gateway> = {}
  const redis = createTestRedisStore()
  beforeAll(async () => {
    gateways.redis = await startGateway(redis)
    gateways.memory = await startGateway(createMemoryStore(systemClock))
  })
  afterAll(async () => {
    await gateways.redis?.close()
    await gateways.memory?.close()
    await redis.clear()
    await redis.close()
  })

  it.concurrent.each(['redis', 'memory'])(
    '%s store: bounded growth, and another caller is served meanwhile',
    async (kind) => {
      const gateway = gateways[kind] as Gateway
      const clientId = await registerClient(gateway)
      const before = await countKeys(gateway.store)
      const flooder = caller('127.0.0.2')
      const neighbour = caller('127.0.0.3')
      const deadline = Date.now() + FLOOD_MS
      // A busy machine sends fewer pages in FLOOD_MS: the flood goes on (within the rate
      // limit's window) until it is a flood, while the neighbour's visits stop at the deadline.
      const floodEnd = Date.now() + 2.5 * FLOOD_MS
      const flooded = { pages: 0, limited: 0, approvals: 0 }
      const flooding = () =>
        Date.now() < deadline || (flooded.pages <= FLOOD_PAGES && Date.now() < floodEnd)
      let refusal: Reply | undefined

      const flood = async (decide: boolean) => {
        while (flooding()) {
          const { page, decision } = await flooder.visit(gateway, clientId, decide)
          flooded.pages++
          if (page.status === 429) {
            flooded.limited++
            refusal = page
          }
          if (decision?.status === 302) flooded.approvals++
        }
      }
      const served: { page: number; decision: number | undefined; to: string }[] = []
      const visitNormally = async () => {
        while (Date.now() < deadline) {
          const { page, decision } = await neighbour.visit(gateway, clientId, true)
          served.push({
            page: page.status,
            decision: decision?.status,
            to: new URL(decision?.location ?? '/', gateway.url).pathname,
          })
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
      }
      try {
        await Promise.all([flood(true), flood(true), flood(false), flood(false), visitNormally()])
      } finally {
        flooder.close()
        neighbour.close()
      }

      const grown = (await countKeys(gateway.store)) - before
      expect(flooded.pages).toBeGreaterThan(FLOOD_PAGES)
      expect(flooded.limited).toBeGreaterThan(0)
      expect(refusal?.contentType).toContain('text/html')
      expect(Number(refusal?.retryAfter)).toBeGreaterThan(0)
      expect(refusal?.body).toContain('temporarily_unavailable')
      expect(grown).toBeLessThan(KEY_BOUND)
      expect(served.length).toBeGreaterThanOrEqual(5)
      for (const visit of served)
        expect(visit).toEqual({ page: 200, decision: 302, to: '/dev-login' })
    },
    45_000
  )
})
