import { describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { runGatewayExpectingFailure, startGatewayProcess } from '../support/gateway-process.ts'

/** Starts the gateway without GitHub, asks for the development sign-in page, stops it. */
async function devLoginStatus(env: Record<string, string>) {
  const port = await freePort()
  const gateway = await startGatewayProcess({ PORT: String(port), ...env })
  try {
    const page = await fetch(`http://localhost:${port}/dev-login`)
    return { status: page.status, output: gateway.output() }
  } finally {
    await gateway.stop()
  }
}

describe('the development sign-in at start-up (no GitHub OAuth App)', () => {
  it('is offered on the default loopback issuer', async () => {
    const { status, output } = await devLoginStatus({})
    expect(status).toBe(200)
    expect(output).toContain('offering the development sign-in')
  })

  it('is never offered for a public https issuer, NODE_ENV unset: nobody can sign in', async () => {
    const { status, output } = await devLoginStatus({ AUTH_ISSUER: 'https://mcp.example.com' })
    expect(status).toBe(404)
    expect(output).toContain('"event":"no_identity_provider"')
    expect(output).toContain('DEVELOPMENT_SIGN_IN=true')
    expect(output).not.toContain('offering the development sign-in')
  })

  it('is offered on a non-loopback http issuer only when asked for', async () => {
    const issuer = 'http://192.0.2.10:8080'
    expect((await devLoginStatus({ AUTH_ISSUER: issuer })).status).toBe(404)
    const { status } = await devLoginStatus({ AUTH_ISSUER: issuer, DEVELOPMENT_SIGN_IN: 'true' })
    expect(status).toBe(200)
  })

  it('stops start-up when asked for with a public https issuer', async () => {
    const { code, stderr } = await runGatewayExpectingFailure({
      AUTH_ISSUER: 'https://mcp.example.com',
      DEVELOPMENT_SIGN_IN: 'true',
    })
    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(/^configuration error: DEVELOPMENT_SIGN_IN: /)
  })
})
