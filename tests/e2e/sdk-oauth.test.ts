import { auth } from '@modelcontextprotocol/sdk/client/auth.js'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { useGatewayWithGitHub } from '../support/gateway-with-github.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/**
 * The official MCP SDK client does the whole dance against the real gateway process: discovery
 * from the resource's protected resource metadata, registration, consent, GitHub, tokens, refresh.
 */
describe('MCP SDK client OAuth against the standalone gateway', () => {
  let gateway: GatewayProcess
  useGatewayWithGitHub((fixture) => {
    gateway = fixture.gateway
  })

  it('discovers, registers, consents, signs in and refreshes', async () => {
    const resource = `${gateway.url}/echo/mcp`
    const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43123/callback' })

    expect(await auth(provider, { serverUrl: resource })).toBe('REDIRECT')
    const authorizationUrl = provider.authorizationUrls[0] as URL
    expect(authorizationUrl.origin).toBe(gateway.url)
    expect(authorizationUrl.searchParams.get('resource')).toBe(resource)
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256')
    expect(provider.client?.client_id).toBeTruthy()
    expect(provider.lastRedirect?.searchParams.get('iss')).toBe(gateway.url)

    expect(await auth(provider, { serverUrl: resource, authorizationCode: provider.code() })).toBe(
      'AUTHORIZED'
    )
    const first = provider.savedTokens
    expect(first?.refresh_token).toBeTruthy()
    const claims = decodeJwt(first?.access_token ?? '')
    expect(claims).toMatchObject({ aud: resource, iss: gateway.url, sub: '4242', login: 'octocat' })

    // With tokens in hand, the SDK refreshes them.
    expect(await auth(provider, { serverUrl: resource })).toBe('AUTHORIZED')
    const second = provider.savedTokens
    expect(second?.access_token).not.toBe(first?.access_token)
    expect(second?.refresh_token).not.toBe(first?.refresh_token)
    expect(decodeJwt(second?.access_token ?? '').aud).toBe(resource)
  })
})
