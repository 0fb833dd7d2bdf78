import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { HeadlessBrowser } from '../../../tests/support/headless-browser.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * RFC 9700 §4.11.2: registration is open, so a redirect URI proves nothing about who is behind it.
 * An authorization error is redirected only to a client the signed-in user has approved; before
 * that the user sees the gateway's error page.
 */
describe('authorization errors and open registration', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ server } = fixture)
  })

  const badRequests: [string, Record<string, string | null>, string][] = [
    ['no PKCE', { code_challenge: null, code_challenge_method: null }, 'invalid_request'],
    ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['a bad scope', { scope: 'x'.repeat(1001) }, 'invalid_request'],
    ['another response type', { response_type: 'token' }, 'unsupported_response_type'],
    ['no response type', { response_type: null }, 'invalid_request'],
    ['another response mode', { response_mode: 'fragment' }, 'invalid_request'],
    ['an unknown resource', { resource: 'https://evil.example/mcp' }, 'invalid_target'],
  ]

  const badUrl = (
    client: RegisteredClient,
    changes: Record<string, string | null>,
    redirectUri = client.redirect_uris[0] ?? ''
  ) => {
    const url = new URL(
      authorizeUrl(client, newPkce(), { state: 'bounce-state', redirect_uri: redirectUri })
    )
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) url.searchParams.delete(name)
      else url.searchParams.set(name, value)
    }
    return url.href
  }

  /** One GET, redirects not followed, with the browser's cookies when given. */
  const get = (url: string, browser?: HeadlessBrowser) =>
    server.request(url.slice(TEST_ISSUER.length), {
      headers: browser
        ? {
            Cookie: [...browser.cookiesOf(TEST_ISSUER)]
              .map(([name, value]) => `${name}=${value}`)
              .join('; '),
          }
        : {},
    })

  const expectErrorPage = async (response: Response, code: string) => {
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(await response.text()).toContain(`<code>${code}</code>`)
  }

  it.each(badRequests)(
    '%s from a client nobody approved: the error page, no redirect',
    async (_case, changes, code) => {
      const client = await registerTestClient(server, {
        redirect_uris: ['https://attacker.example/landing'],
      })
      await expectErrorPage(await get(badUrl(client, changes)), code)
    }
  )

  it('shows nothing of an unknown resource on the error page: no stranger’s sentence on this origin', async () => {
    const client = await registerTestClient(server, {
      redirect_uris: ['https://attacker.example/landing'],
    })
    const notice = 'SECURITY NOTICE: your account was locked, unlock it at https://evil.example'
    const response = await get(badUrl(client, { resource: notice }))
    await expectErrorPage(response.clone(), 'invalid_target')
    const page = await response.text()
    expect(page).not.toContain('SECURITY NOTICE')
    expect(page).not.toContain('evil.example')
  })

  it.each(badRequests)(
    '%s from a client the signed-in user approved: redirected with error, state and iss',
    async (_case, changes, code) => {
      const client = await registerTestClient(server)
      const browser = browserFor(server)
      await obtainCode(server, client, newPkce(), browser)
      const response = await get(badUrl(client, changes), browser)
      expect(response.status).toBe(302)
      const location = new URL(response.headers.get('location') ?? '')
      expect(location.href.startsWith(client.redirect_uris[0] ?? '')).toBe(true)
      expect(location.searchParams.get('error')).toBe(code)
      expect(location.searchParams.get('state')).toBe('bounce-state')
      expect(location.searchParams.get('iss')).toBe(TEST_ISSUER)
      expect(location.searchParams.get('code')).toBeNull()
    }
  )

  it('a signed-in user who approved other clients, or this one elsewhere, still gets the page', async () => {
    const browser = browserFor(server)
    await obtainCode(server, await registerTestClient(server), newPkce(), browser)
    const stranger = await registerTestClient(server, {
      redirect_uris: ['https://attacker.example/landing'],
    })
    await expectErrorPage(
      await get(badUrl(stranger, { code_challenge_method: 'plain' }), browser),
      'invalid_request'
    )

    // Approved for one of its redirect URIs: errors may go there, not to the other.
    const twoHomes = await registerTestClient(server, {
      redirect_uris: ['https://client.example.com/callback', 'https://client.example.com/other'],
    })
    await obtainCode(server, twoHomes, newPkce(), browser)
    const other = badUrl(twoHomes, { response_type: 'token' }, 'https://client.example.com/other')
    await expectErrorPage(await get(other, browser), 'unsupported_response_type')
    const approved = await get(badUrl(twoHomes, { response_type: 'token' }), browser)
    expect(landing(approved)).toBe('https://client.example.com/callback')
  })

  it('at the consent page, Deny goes back to the client: the user has seen the page', async () => {
    const client = await registerTestClient(server, {
      redirect_uris: ['https://attacker.example/landing'],
    })
    const browser = browserFor(server)
    const consent = await browser.open(authorizeUrl(client, newPkce()), 'https://attacker.example')
    const denied = await browser.submitConsent(consent, 'deny', 'https://attacker.example')
    expect(new URL(denied.url).searchParams.get('error')).toBe('access_denied')
  })
})

/** Where a redirect goes, without its query. */
function landing(redirect: Response): string {
  const location = new URL(redirect.headers.get('location') ?? 'about:blank')
  return `${location.origin}${location.pathname}`
}
