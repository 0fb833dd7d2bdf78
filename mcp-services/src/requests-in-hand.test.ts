import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { boundedInHand, type InHandBounds } from './requests-in-hand.ts'

const MiB = 1024 * 1024

/** An app whose `/mcp` answers only when the test lets it, so requests stay in hand meanwhile. */
function heldApp(bounds: InHandBounds) {
  const app = new Hono()
  const waiting: (() => void)[] = []
  app.use('/mcp', boundedInHand(bounds, false))
  app.post('/mcp', async (c) => {
    await new Promise<void>((resolve) => waiting.push(resolve))
    return c.text('answered')
  })
  const post = async (user: string, bytes: number | undefined): Promise<Response> =>
    app.request('/mcp', {
      method: 'POST',
      headers: {
        'X-User-Id': user,
        ...(bytes === undefined ? {} : { 'Content-Length': String(bytes) }),
      },
      body: 'x',
    })
  const answerAll = async (pending: Promise<Response>[]) => {
    await expect.poll(() => waiting.length).toBe(pending.length)
    for (const resolve of waiting.splice(0)) resolve()
    return Promise.all(pending)
  }
  return { post, answerAll }
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
    // Small requests of the same user still fit; another user is not held back by alice.
    const small = post('alice', 0)
    const bob = post('bob', 4 * MiB)
    const answers = await answerAll([...held, small, bob])
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200])
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

  it("refuses a body that would take everyone's bytes in hand past the bound, with 503", async () => {
    const { post, answerAll } = heldApp(bounds)
    const held = ['a', 'a', 'a', 'b', 'b', 'b'].map((user) => post(user, 4 * MiB))
    const refused = await post('c', 4 * MiB)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    await answerAll(held)
    expect((await answerAll([post('c', 4 * MiB)]))[0]?.status).toBe(200)
  })
})
