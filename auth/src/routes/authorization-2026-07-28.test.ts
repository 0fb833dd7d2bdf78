import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import type { HeadlessBrowser } from '../../../tests/support/headless-browser.ts'
import {
  browserFor,
  exchangeCode,
  newPkce,
  type Pkce,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

const ECHO = `${TEST_ISSUER}/echo/mcp`
const MEMORY = `${TEST_ISSUER}/memory/mcp`

/**
 * The authorization details of MCP 2026-07-28 as today's clients meet them: `iss` on every
 * authorization response, `offline_access` (SEP-2207), and `resource` sent as real clients send
 * it (upper case, a trailing slash, or not at all).
 */
describe('MCP 2026-07-28 authorization responses', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', MCP_MEMORY_ENABLED: 'true' }, (fixture) => {
    ;({ github, server } = fixture)
  })

  /** An authorization request with `params` over the defaults; `resource` may repeat or be absent. */
  const authorizeUrl = (
    client: RegisteredClient,
    pkce: Pkce,
    params: Record<string, string | string[] | undefined> = {}
  ) => {
    const query = new URLSearchParams()
    const all: Record<string, string | string[] | undefined> = {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0],
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      state: 'client-state',
      resource: ECHO,
      ...params,
    }
    for (const [name, value] of Object.entries(all)) {
      for (const item of value === undefined ? [] : [value].flat()) query.append(name, item)
    }
    return `${TEST_ISSUER}/authorize?${query}`
  }
  /** Approves on the consent page (when shown) and returns where the browser came back. */
  const authorize = async (
    client: RegisteredClient,
    pkce: Pkce,
    params: Record<string, string | string[] | undefined> = {},
    browser: HeadlessBrowser = browserFor(server)
  ): Promise<URL> => {
    const redirectUri = client.redirect_uris[0] ?? ''
    const page = await browser.open(authorizeUrl(client, pkce, params), redirectUri)
    const back = page.body ? await browser.submitConsent(page, 'approve', redirectUri) : page
    return new URL(back.url)
  }
  const tokensFor = async (
    client: RegisteredClient,
    params: Record<string, string | string[] | undefined> = {},
    tokenParams: Record<string, string> = {}
  ) => {
    const pkce = newPkce()
    const code = (await authorize(client, pkce, params)).searchParams.get('code') ?? ''
    const response = await exchangeCode(server, client, code, pkce, tokenParams)
    expect(response.status, await response.clone().text()).toBe(200)
    return (await response.json()) as {
      access_token: string
      refresh_token?: string
      scope: string
    }
  }

  describe('iss on every redirect from /authorize (RFC 9207)', () => {
    const expectIss = (redirect: URL, error: string | null) => {
      expect(redirect.origin + redirect.pathname).toBe('https://client.example.com/callback')
      expect(redirect.searchParams.get('error')).toBe(error)
      expect(redirect.searchParams.get('state')).toBe('client-state')
      expect(redirect.searchParams.getAll('iss')).toEqual([TEST_ISSUER])
    }

    it('on success and on every kind of error sent back to the client', async () => {
      const client = await registerTestClient(server)
      const browser = browserFor(server)
      expectIss(await authorize(client, newPkce(), {}, browser), null)
      // Approved before in this browser: request errors go back to the client.
      expectIss(
        await authorize(client, newPkce(), { code_challenge_method: 'plain' }, browser),
        'invalid_request'
      )
      expectIss(
        await authorize(client, newPkce(), { resource: 'https://elsewhere.example/mcp' }, browser),
        'invalid_target'
      )

      // The user refuses at GitHub.
      github.denyNextAuthorization()
      expectIss(await authorize(client, newPkce()), 'access_denied')
      // Someone the allow-list refuses signs in.
      github.setNextLogin('mallory')
      expectIss(await authorize(client, newPkce()), 'access_denied')
    })
  })

  describe('offline_access (SEP-2207)', () => {
    it('is advertised by the authorization server only, never by a resource', async () => {
      const metadata = (await (
        await server.request('/.well-known/oauth-authorization-server')
      ).json()) as { scopes_supported: string[] }
      expect(metadata.scopes_supported).toContain('offline_access')
      const resource = (await (
        await server.request('/.well-known/oauth-protected-resource/echo/mcp')
      ).json()) as { scopes_supported: string[] }
      expect(resource.scopes_supported).toEqual(['mcp'])
    })

    it('gives refresh tokens to clients registered for the refresh grant, asked or not', async () => {
      const refreshing = await registerTestClient(server)
      const asked = await tokensFor(refreshing, { scope: 'mcp offline_access' })
      expect(asked.refresh_token).toBeTypeOf('string')
      // It asks for a refresh token; it is no scope of the access token.
      expect(asked.scope).toBe('mcp')
      expect(decodeJwt(asked.access_token).scope).toBe('mcp')
      expect((await tokensFor(refreshing, { scope: 'mcp' })).refresh_token).toBeTypeOf('string')
      const refreshed = await tokenRequest(server, refreshing, {
        grant_type: 'refresh_token',
        refresh_token: asked.refresh_token ?? '',
        scope: 'mcp offline_access',
      })
      expect(await refreshed.json()).toMatchObject({ scope: 'mcp' })

      const codeOnly = await registerTestClient(server, { grant_types: ['authorization_code'] })
      const refused = await tokensFor(codeOnly, { scope: 'mcp offline_access' })
      expect(refused.refresh_token).toBeUndefined()
    })
  })

  describe('resource as clients send it (RFC 8707)', () => {
    it('takes an upper-case scheme or host, and a trailing slash, as the resource', async () => {
      const client = await registerTestClient(server)
      for (const resource of ['HTTP://LOCALHOST:8080/echo/mcp', `${ECHO}/`]) {
        const tokens = await tokensFor(client, { resource }, { resource })
        expect(decodeJwt(tokens.access_token).aud).toBe(ECHO)
      }
      const tokens = await tokensFor(client, { resource: [ECHO, MEMORY] })
      const narrowed = await tokenRequest(server, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
        resource: 'http://LOCALHOST:8080/memory/mcp/',
      })
      expect(
        decodeJwt(((await narrowed.json()) as { access_token: string }).access_token).aud
      ).toBe(MEMORY)
    })

    it('gives a request without resource every protected resource', async () => {
      const client = await registerTestClient(server)
      const tokens = await tokensFor(client, { resource: undefined })
      expect(decodeJwt(tokens.access_token).aud).toEqual([ECHO, MEMORY])
      // The token request may still narrow it to one.
      const narrowed = await tokensFor(client, { resource: undefined }, { resource: `${ECHO}/` })
      expect(decodeJwt(narrowed.access_token).aud).toBe(ECHO)
    })

    it('refuses a resource with a query or fragment, or that is no URL', async () => {
      const client = await registerTestClient(server)
      const browser = browserFor(server)
      await authorize(client, newPkce(), {}, browser)
      for (const resource of [`${ECHO}?x=1`, `${ECHO}#f`, 'echo/mcp']) {
        const back = await authorize(client, newPkce(), { resource }, browser)
        expect(back.searchParams.get('error')).toBe('invalid_target')
      }
    })
  })
})
