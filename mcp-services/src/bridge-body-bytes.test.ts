import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { replicaTag } from './owner-routing.ts'
import {
  fixtureService,
  identityHeaders,
  startTestBridge,
  type TestBridge,
} from './testing/harness.ts'
import { RAW_POST_HEADERS, rawInitialize } from './testing/raw-client.ts'

const KiB = 1024
/** Every bound at the largest body: one such body passes only while nothing else is held. */
const BOUND = 256 * KiB
/** What a slow body has sent, above the size counted in full at arrival (64 KiB). */
const HELD = 160 * KiB

/**
 * The bytes of bodies `/mcp` holds at once, on a real bridge that is also one of two replicas
 * (so that bodies forwarded to the session's owner are counted too). Slow bodies are written by
 * hand on a socket: their head and part of the body, the rest never. Every test ends with the
 * bridge holding nothing, which a body of the whole bound then shows (answered 400, not JSON,
 * once read: the parse error is one of the paths that gives bytes back).
 */
describe('body bytes in hand on a real bridge', { timeout: 60_000 }, () => {
  let owner: TestBridge
  let bridge: TestBridge
  let url: string
  const sockets: Socket[] = []
  beforeAll(async () => {
    owner = await startTestBridge(fixtureService)
    const limits = { maxRequestBodyBytes: BOUND, maxRequestBytesPerUser: BOUND }
    bridge = await startTestBridge(fixtureService, {
      ...limits,
      maxRequestBytes: BOUND,
      replicas: {
        self: 'here',
        peers: [
          { id: 'here', url: 'http://127.0.0.1:1' },
          { id: 'owner', url: new URL(owner.url).origin },
        ],
      },
    })
    url = bridge.url
  })
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy()
  })
  afterAll(async () => {
    await bridge.close()
    await owner.close()
  })

  /** A POST declaring `declared` bytes of which only `sent` are written; the socket stays open. */
  const slowPost = async (user: string, declared: number, sent: number, headers = {}) => {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port), hostname)
    sockets.push(socket)
    await new Promise((resolve) => socket.once('connect', resolve))
    const head = Object.entries({ ...identityHeaders(user), ...RAW_POST_HEADERS, ...headers })
    socket.write(
      [
        'POST /mcp HTTP/1.1',
        `Host: ${new URL(url).host}`,
        ...head.map(([name, value]) => `${name}: ${value}`),
        `Content-Length: ${declared}`,
        '',
        'x'.repeat(sent),
      ].join('\r\n')
    )
    return socket
  }

  /**
   * Once the bridge has `user`'s slow POST in hand (their next request is over their bound: 429).
   * Its bytes that came with its head are read by then: a probe sent earlier could have been
   * counted first and had the slow body cut instead.
   */
  const inHand = (user: string) =>
    expect
      .poll(async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { ...identityHeaders(user), ...RAW_POST_HEADERS },
          body: '{}',
        })
        await response.body?.cancel()
        return response.status
      })
      .toBe(429)

  /** The status of a POST of `bytes` bytes (not JSON: 400 once read whole) from a fresh user. */
  let probes = 0
  const probe = async (bytes = BOUND, headers = {}) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...identityHeaders(`probe-${++probes}`), ...RAW_POST_HEADERS, ...headers },
      body: 'x'.repeat(bytes),
    })
    const body = (await response.json()) as { error: { message: string } }
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body }
  }

  /** Whether the bridge holds no body bytes: a body of the whole bound is read to its end. */
  const nothingHeld = async () => (await probe()).status === 400

  it('is not filled by connections that declare large bodies and send nothing', async () => {
    // Each declares the largest body: its user's whole bound, and before, everyone's.
    for (const user of ['ann', 'bob', 'cid', 'dan']) await slowPost(user, BOUND, 0)
    for (const user of ['ann', 'bob', 'cid', 'dan']) await inHand(user)
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...identityHeaders('eve'), ...RAW_POST_HEADERS },
      body: JSON.stringify(rawInitialize('2025-06-18')),
    })
    expect(response.status).toBe(200)
    await response.body?.cancel()
    expect(await nothingHeld()).toBe(true)
  })

  it('counts the bytes that arrived, and answers a body that would pass the bound 503', async () => {
    const slow = await slowPost('fay', BOUND, HELD)
    await inHand('fay')
    expect((await probe(BOUND - HELD)).status).toBe(400)
    const refused = await probe(BOUND - HELD + 1)
    expect(refused.status).toBe(503)
    expect(refused.retryAfter).toBe('1')
    expect(refused.body).toEqual({
      jsonrpc: '2.0',
      error: {
        code: -32000,
        message:
          'Service Unavailable: the bridge is handling as much as it may at once; retry shortly',
      },
      id: null,
    })
    // What the slow body held is given back when its client goes away mid-body.
    slow.destroy()
    await expect.poll(nothingHeld, { timeout: 10_000 }).toBe(true)
  })

  it('counts a body declared small (64 KiB at most) in full from its arrival', async () => {
    const slow = await slowPost('kim', 64 * KiB, 0)
    // Nothing of it has come, and it holds its whole 64 KiB once in hand.
    await expect.poll(async () => (await probe(BOUND - 64 * KiB + 1)).status).toBe(503)
    expect((await probe(BOUND - 64 * KiB)).status).toBe(400)
    slow.destroy()
    await expect.poll(nothingHeld, { timeout: 10_000 }).toBe(true)
  })

  it('gives back what a body over the largest held once it is answered 413', async () => {
    const chunks = [new Uint8Array(BOUND), new Uint8Array(8 * KiB)]
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...identityHeaders('gus'), ...RAW_POST_HEADERS },
      body: new ReadableStream({
        pull(controller) {
          const chunk = chunks.shift()
          if (chunk) controller.enqueue(chunk)
          else controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
    await response.body?.cancel()
    expect(await nothingHeld()).toBe(true)
  })

  it('counts the bodies forwarded to the replica that owns their session, and gives them back', async () => {
    const forwarded = { 'Mcp-Session-Id': `${replicaTag('owner')}.gone` }
    // The owner reads the whole body, then answers 404: the session is not one of its own.
    expect((await probe(BOUND, forwarded)).status).toBe(404)
    expect(await nothingHeld()).toBe(true)
    const slow = await slowPost('hal', BOUND, HELD)
    await inHand('hal')
    expect((await probe(100 * KiB, forwarded)).status).toBe(503)
    slow.destroy()
    await expect.poll(nothingHeld, { timeout: 10_000 }).toBe(true)
    const gone = await slowPost('ivy', BOUND, HELD, forwarded)
    await inHand('ivy')
    expect((await probe(100 * KiB)).status).toBe(503)
    gone.destroy()
    await expect.poll(nothingHeld, { timeout: 10_000 }).toBe(true)
  })
})
