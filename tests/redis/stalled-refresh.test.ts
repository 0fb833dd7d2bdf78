import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FakeGitHub } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import {
  OCTOCAT,
  type SignedInClient,
  signInThroughSdk,
  startGatewayWithGitHub,
  verifyAtGateway,
} from '../support/gateway-with-github.ts'
import { type RedisBehindProxy, startRedisBehindProxy } from '../support/stalling-proxy.ts'

/**
 * Redis stalls just as a refresh sends its rotation: the gateway gives up after its command
 * timeout and answers 503, and Redis runs the rotation afterwards. The client retries with the
 * token it holds, often long after the reuse grace: that retry must refresh, not be taken for a
 * replay that revokes the family.
 */
describe('a refresh whose rotation Redis ran after the gateway gave up', () => {
  let redis: RedisBehindProxy
  let github: FakeGitHub
  let gateway: GatewayProcess
  beforeAll(async () => {
    redis = await startRedisBehindProxy()
    ;({ github, gateway } = await startGatewayWithGitHub([OCTOCAT], {
      REDIS_URL: redis.url,
      ALLOWED_GITHUB_USERS: 'octocat',
      REFRESH_TOKEN_REUSE_GRACE: '1',
    }))
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
    await redis?.stop()
  })

  const refresh = (signedIn: SignedInClient) =>
    fetch(`${gateway.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...signedIn.client,
        grant_type: 'refresh_token',
        refresh_token: signedIn.tokens.refresh_token,
      }).toString(),
    })

  it('keeps one line of tokens: every retry with the old token, however late, gets the same successor', async () => {
    const signedIn = await signInThroughSdk(gateway)
    // The rotation: the one write that stores a family record and a successor for the grace.
    redis.proxy.arm((chunk) => {
      const text = chunk.toString()
      return text.includes('currentTokenHash') && text.includes('refresh-successor:')
    }, 7_000)

    const stalled = await refresh(signedIn)
    expect(stalled.status).toBe(503)
    expect(await stalled.json()).toMatchObject({ error: 'temporarily_unavailable' })
    await redis.proxy.released()

    type Tokens = { access_token: string; refresh_token: string; error?: string }
    // Another session of the client with the same token, past the grace, and the first one's
    // retry later still: both get the successor Redis stored after the gateway gave up.
    const parallel = await refresh(signedIn)
    const successor = (await parallel.json()) as Tokens
    expect([parallel.status, successor.error]).toEqual([200, undefined])
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const retried = await refresh(signedIn)
    const body = (await retried.json()) as Tokens
    expect([retried.status, body.error]).toEqual([200, undefined])
    expect(body.refresh_token).toBe(successor.refresh_token)
    // The successor refreshes as the family's live token: one line, nothing revoked.
    const next = await refresh({ ...signedIn, tokens: body })
    expect(next.status).toBe(200)
    expect((await verifyAtGateway(gateway, body.access_token)).status).toBe(200)
    expect((await verifyAtGateway(gateway, signedIn.tokens.access_token)).status).toBe(200)
    expect(gateway.output()).not.toContain('reuse_detected')
  })
})
