import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { readJsonPost } from './post-body.ts'
import { boundedInHand, type InHandBounds } from './requests-in-hand.ts'

const MiB = 1024 * 1024

/**
 * An app whose `/mcp` reads the body as the bridge does, then answers only when the test lets it,
 * so requests stay in hand meanwhile.
 */
function heldApp(bounds: InHandBounds) {
  const app = new Hono()
  const waiting: (() => void)[] = []
  app.use('/mcp', boundedInHand(bounds, false))
  app.post('/mcp', async (c) => {
    const body = await readJsonPost(c.req.raw, bounds.maxBodyBytes)
    if ('refusal' in body) return body.refusal
    await new Promise<void>((resolve) => waiting.push(resolve))
    return c.text('answered')
  })
  /**
   * A POST of a JSON body of `bytes` bytes, which says so; of unknown length when undefined; none
   * at all (answered 400 once read: not JSON) for 0.
   */
  const post = async (user: string, bytes: number | undefined): Promise<Response> =>
    app.request('/mcp', {
      method: 'POST',
      headers: {
        'X-User-Id': user,
        ...(bytes === undefined ? {} : { 'Content-Length': String(bytes) }),
      },
      body: bytes === undefined ? '{}' : bytes === 0 ? null : jsonOfLength(bytes),
    })
  const answerAll = async (pending: Promise<Response>[]) => {
    await expect.poll(() => waiting.length, { timeout: 10_000 }).toBe(pending.length)
    for (const resolve of waiting.splice(0)) resolve()
    return Promise.all(pending)
  }
  return { post, answerAll }
}

/** A JSON string of `bytes` bytes (at least 2). */
function jsonOfLength(bytes: number): string {
  return JSON.stringify('x'.repeat(Math.max(bytes - 2, 0)))
}

const bounds: InHandBounds = {
  requestsPerUser: 32,
  bytesPerUser: 16 * MiB,
  bytes: 24 * MiB,
  maxBodyBytes: 4 * MiB,
}

describe("/mcp's bounds on what it handles at once", () => {
  it("refuses a user's body that would take their bytes in hand past the bound, with 429", async () => {
    const { post, answerAll } = heldApp(bounds)
    const held = [1, 2, 3, 4].map(() => post('alice', 4 * MiB))
    const refused = await post('alice', 4 * MiB)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(await refused.json()).toMatchObject({
      error: { code: -32000, message: expect.stringContaining('16777216 bytes') },
    })
    // Requests of the same user without a body still pass; another user is not held back by alice.
    expect((await post('alice', 0)).status).toBe(400)
    const bob = post('bob', 4 * MiB)
    const answers = await answerAll([...held, bob])
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200])
    // Once answered, alice's bytes are hers again.
    const again = post('alice', 4 * MiB)
    expect((await answerAll([again]))[0]?.status).toBe(200)
  })

  it('counts a body of unknown length as the largest one', async () => {
    const { post, answerAll } = heldApp(bounds)
    const held = [1, 2, 3, 4].map(() => post('alice', undefined))
    expect((await post('alice', 1)).status).toBe(429)
    await answerAll(held)
  })

  it("ends the read of a body that would take everyone's bytes in hand past the bound, with 503", async () => {
    const { post, answerAll } = heldApp(bounds)
    const held = ['a', 'a', 'a', 'b', 'b', 'b'].map((user) => post(user, 4 * MiB))
    const refused = await post('c', 4 * MiB)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    await answerAll(held)
    expect((await answerAll([post('c', 4 * MiB)]))[0]?.status).toBe(200)
  })

  it("counts of everyone's bytes only what arrived of a body still being read", async () => {
    const app = new Hono()
    app.use('/mcp', boundedInHand(bounds, false))
    app.post('/mcp', async (c) => {
      const body = await readJsonPost(c.req.raw, bounds.maxBodyBytes)
      return 'refusal' in body ? body.refusal : c.text('answered')
    })
    // Eight bodies that declare 4 MiB each, 32 MiB in all, and send 1 KiB until the test ends them.
    const senders: ReadableStreamDefaultController<Uint8Array>[] = []
    const slow = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'].map((user) =>
      app.request('/mcp', {
        method: 'POST',
        headers: { 'X-User-Id': user, 'Content-Length': String(4 * MiB) },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(1024).fill(0x20))
            senders.push(controller)
          },
        }),
        duplex: 'half',
      } as RequestInit)
    )
    await expect.poll(() => senders.length).toBe(8)
    const answer = await app.request('/mcp', {
      method: 'POST',
      headers: { 'X-User-Id': 'c', 'Content-Length': String(4 * MiB) },
      body: jsonOfLength(4 * MiB),
    })
    expect(answer.status).toBe(200)
    for (const sender of senders) sender.error(new Error('the client went away'))
    expect((await Promise.all(slow)).map((response) => response.status)).toEqual(Array(8).fill(400))
  })
})
