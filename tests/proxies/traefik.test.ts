import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_SECRET_HEADER } from '../../mcp-services/src/shared-secret.ts'
import { mintAccessToken } from '../support/access-tokens.ts'
import { forwardAuthContract } from './support/forward-auth-contract.ts'
import { type GatewayUnderProxy, startGatewayUnderProxy } from './support/gateway-under-proxy.ts'
import type { RunningProxy } from './support/proxy.ts'
import { containerRuntime, startTraefik, TRAEFIK_BRIDGE_SECRET } from './support/traefik.ts'

const runtime = await containerRuntime()
if (!runtime.available) {
  console.info(`Traefik forward-auth suite skipped: no container runtime (${runtime.reason})`)
}
const skipped = runtime.available ? '' : ` [skipped: no container runtime: ${runtime.reason}]`

describe.skipIf(!runtime.available)(`behind Traefik forwardAuth (container)${skipped}`, () => {
  forwardAuthContract(startTraefik, { challengeOn403: true })
})

describe.skipIf(!runtime.available)(
  `Traefik's bridge-secret middleware (container)${skipped}`,
  () => {
    let gateway: GatewayUnderProxy
    let proxy: RunningProxy
    beforeAll(async () => {
      gateway = await startGatewayUnderProxy()
      proxy = await startTraefik(gateway)
    })
    afterAll(async () => {
      await proxy?.stop()
      await gateway?.stop()
    })

    it('gives the bridge the secret from its environment, whatever the client sent', async () => {
      const { token } = await mintAccessToken(gateway.auth)
      const response = await fetch(`${gateway.proxyUrl}/echo/mcp`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, [SHARED_SECRET_HEADER]: 'forged' },
      })
      expect(response.status, proxy.output()).toBe(200)
      const seen = gateway.upstreamRequests.at(-1)?.headers ?? {}
      expect(seen[SHARED_SECRET_HEADER.toLowerCase()]).toBe(TRAEFIK_BRIDGE_SECRET)
    })

    it('never adds it to a request that forward-auth refused', async () => {
      const before = gateway.upstreamRequests.length
      const response = await fetch(`${gateway.proxyUrl}/echo/mcp`, { method: 'POST' })
      expect(response.status).toBe(401)
      expect(gateway.upstreamRequests.length).toBe(before)
    })
  }
)
