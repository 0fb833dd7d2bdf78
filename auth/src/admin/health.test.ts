import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { freePort } from '../../../tests/support/free-port.ts'
import { epochSeconds } from '../clock.ts'
import { publicRequestListener } from '../http/forward-auth-listener.ts'
import { rotateSigningKeys } from '../keys/signing-keys.ts'
import { activeSigningKey, checkHealth, healthTarget } from './health.ts'

describe('the health check of the signing keys, around a rotation', () => {
  let server: TestAuthServer
  let listener: Server
  beforeAll(async () => {
    const port = await freePort()
    server = await createTestAuthServer({ AUTH_ISSUER: `http://127.0.0.1:${port}` })
    listener = createServer(publicRequestListener(server.app, server.forwardAuth))
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve))
    expect((listener.address() as AddressInfo).port).toBe(port)
  })
  afterAll(async () => {
    listener?.closeAllConnections()
    await new Promise((resolve) => listener?.close(resolve))
    await server?.close()
  })

  const keysCheck = async () => {
    const target = healthTarget(
      server.config,
      await activeSigningKey(server.store, undefined),
      epochSeconds(server.clock)
    )
    const checks = await checkHealth(target)
    return checks.find((check) => check.name === 'signing keys (JWKS)')
  }

  it('passes while replicas have a minute to publish a new key, and fails past it until they do', async () => {
    expect(await keysCheck()).toMatchObject({ ok: true, detail: 'ok' })
    const { kid } = await rotateSigningKeys(server.store, {
      clock: server.clock,
      keepSeconds: 3600,
    })

    // Right after `keys rotate`: the gateway has not read the ring again yet.
    const pending = await keysCheck()
    expect(pending?.ok).toBe(true)
    expect(pending?.detail).toBe(
      `the current key ${kid}, rotated 0 s ago, is not published yet: every replica publishes it within 60 s`
    )

    // Past the reload interval, a gateway that still lacks it is a fault worth an alert.
    server.clock.advance(70_000)
    const stale = await keysCheck()
    expect(stale?.ok).toBe(false)
    expect(stale?.detail).toMatch(
      new RegExp(`^does not publish the current key ${kid} \\(made 70 s ago\\)`)
    )

    await server.signingKeys.reload()
    expect(await keysCheck()).toMatchObject({ ok: true, detail: 'ok' })
  })
})
