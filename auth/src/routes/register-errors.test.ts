import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'

async function expectOAuthError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await response.json()) as Record<string, unknown>
  expect(body.error).toBe(error)
  expect(body.error_description).toBeTypeOf('string')
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/)
}

describe('POST /register refuses bad input with an OAuth error', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ REGISTRATION_RATE_LIMIT: '1000' })
  })
  afterAll(async () => {
    await server.close()
  })

  const post = (body: string, contentType = 'application/json') =>
    server.request('/register', { method: 'POST', headers: { 'Content-Type': contentType }, body })

  it('malformed JSON', async () => {
    await expectOAuthError(await post('{"redirect_uris": ['), 400, 'invalid_request')
  })

  it('a JSON value that is not an object', async () => {
    await expectOAuthError(await post('["https://a.example/cb"]'), 400, 'invalid_client_metadata')
    await expectOAuthError(await post('null'), 400, 'invalid_client_metadata')
  })

  it('the wrong content type', async () => {
    await expectOAuthError(
      await post('redirect_uris=x', 'application/x-www-form-urlencoded'),
      400,
      'invalid_request'
    )
    await expectOAuthError(await post('{}', 'text/plain'), 400, 'invalid_request')
  })

  it('accepts a charset parameter on the media type', async () => {
    const response = await post(
      JSON.stringify({ redirect_uris: ['https://a.example/cb'] }),
      'application/json; charset=utf-8'
    )
    expect(response.status).toBe(201)
  })

  it('an oversized body', async () => {
    const body = JSON.stringify({
      redirect_uris: ['https://a.example/cb'],
      client_name: 'x'.repeat(100_000),
    })
    await expectOAuthError(await post(body), 413, 'invalid_request')
  })

  it.each([
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['a fragment', 'https://app.example.com/cb#frag'],
    ['a wildcard', 'https://*.example.com/cb'],
    ['a relative URI', '/oauth/callback'],
    ['http on a non-loopback host', 'http://app.example.com/cb'],
    ['http on a host that only starts like localhost', 'http://localhost.evil.com/cb'],
    ['user information', 'https://user:pass@app.example.com/cb'],
    ['file:', 'file:///etc/passwd'],
    ['an empty string', ''],
    ['a backslash', 'https://evil.example\\@good.example/cb'],
    ['no // after https:', 'https:evil.example/cb'],
    ['a browser scheme opening a web page', 'microsoft-edge:https://evil.example/cb'],
    ['a browser scheme (Safari)', 'x-safari-https://evil.example/cb'],
    ['a browser scheme (Chrome)', 'googlechromes://evil.example/cb'],
    ['a browser scheme (Edge on iOS)', 'microsoft-edge-https://evil.example/cb'],
    ['a browser scheme (Chrome callbacks)', 'googlechrome-x-callback://x-callback-url/open'],
    ['a browser scheme (Firefox Focus)', 'firefox-focus://open-url?url=cb'],
    ['a scheme named for the web', 'newbrowser-https://evil.example/cb'],
    ['a Windows scheme', 'ms-settings:x'],
    ['a Windows diagnostics scheme', 'ms-msdt:/id'],
    ['a Windows search scheme', 'search-ms:query=x'],
    ['a Windows shell scheme', 'shell:startup'],
    ['the Windows search scheme', 'search:query=x&crumb=location:%5C%5Cevil.example%5Cshare'],
    ['a Windows help scheme', 'hcp://system/x'],
    [
      'an Android app link opening a web page',
      'android-app://com.android.chrome/https/evil.example/cb',
    ],
    ['a mobile browser scheme', 'onionhttps://evil.example/cb'],
    ['a private-use scheme with a web URL after one slash', 'myapp:/https://evil.example/cb'],
    ['a private-use scheme with a web URL after three slashes', 'myapp:///https://evil.example/cb'],
    ['a browser with a web URL in its query', 'samsunginternet://open?url=https://evil.example/cb'],
    ['a launcher with an encoded web URL', 'app://open?url=https%3A%2F%2Fevil.example%2Fcb'],
    ['a launcher with a web URL in its path', 'steam://openurl/https://evil.example/cb'],
    ['a file share', 'smb://attacker.example/share'],
    ['an app installer', 'itms-services://?action=download-manifest&url=x'],
    ['a browser extension', 'chrome-extension://abcdefghijklmnop/cb.html'],
    ['a call', 'callto:someone'],
    ['a private-use scheme wrapping a web URL', 'myapp://https://evil.example/cb'],
    ['a scheme any web page may handle', 'web+mcp:/callback'],
    ['a scheme a browser extension may handle', 'ext+mcp://callback'],
    ['a safelisted scheme a web page may handle', 'magnet:?xt=cb'],
    ['another one', 'xmpp:callback@app'],
    ['a control character', 'https://app.example.com/cb\u0001'],
    ['port 0 on loopback', 'http://127.0.0.1:0/cb'],
    ['port 0 over https', 'https://a.example:0/cb'],
    ['no host after // (parsed as the host cb)', 'https:///cb'],
    ['an empty host before another host', 'https:////evil.example/cb'],
    ['no host before loopback', 'http:///localhost/cb'],
    ['an encoded dot segment', 'https://a.example/cb/%2e%2e/x'],
    ['a dot segment', 'https://a.example/./cb'],
  ])('a redirect URI with %s', async (_form, uri) => {
    await expectOAuthError(
      await registerClient(server, { redirect_uris: [uri] }),
      400,
      'invalid_redirect_uri'
    )
  })

  it.each([
    'https://a.example/cb..x/y',
    'https://a.example/cb?next=/../x',
    'https://a.example/.well-known/cb',
    'http://127.0.0.1/callback',
    'cursor://anysphere.cursor-retrieval/oauth/callback',
  ])('registers %s (dots inside a segment or in the query are not dot segments)', async (uri) => {
    expect((await registerClient(server, { redirect_uris: [uri] })).status).toBe(201)
  })

  it('redirect_uris of the wrong type or missing for the code grant', async () => {
    await expectOAuthError(
      await registerClient(server, { redirect_uris: 'https://a.example/cb' }),
      400,
      'invalid_redirect_uri'
    )
    await expectOAuthError(
      await registerClient(server, { client_name: 'x' }),
      400,
      'invalid_redirect_uri'
    )
  })

  it.each([
    ['an unknown token_endpoint_auth_method', { token_endpoint_auth_method: 'private_key_jwt' }],
    ['an unsupported grant type', { grant_types: ['client_credentials'] }],
    ['the implicit response type', { response_types: ['token'] }],
    [
      'grant and response types that disagree',
      {
        grant_types: ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
      },
    ],
    ['only refresh_token', { grant_types: ['refresh_token'], response_types: [] }],
    ['a non-https logo', { logo_uri: 'javascript:alert(1)' }],
    ['a client_name of the wrong type', { client_name: 42 }],
    ['a client_name with a bidirectional override', { client_name: 'Claude\u202eevil' }],
    ['a client_name with a control character', { client_name: 'Claude\u0007' }],
    ['a malformed scope', { scope: 'a  "b"' }],
  ])('%s', async (_case, metadata) => {
    await expectOAuthError(
      await registerClient(server, { redirect_uris: ['https://a.example/cb'], ...metadata }),
      400,
      'invalid_client_metadata'
    )
  })

  it('rate limits registrations per caller', async () => {
    const limited = await createTestAuthServer({ REGISTRATION_RATE_LIMIT: '2' })
    try {
      const body = { redirect_uris: ['https://a.example/cb'] }
      expect((await registerClient(limited, body)).status).toBe(201)
      expect((await registerClient(limited, body)).status).toBe(201)
      const refused = await registerClient(limited, body)
      await expectOAuthError(refused.clone(), 429, 'temporarily_unavailable')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      await limited.close()
    }
  })

  it('answers unknown paths with a JSON 404', async () => {
    await expectOAuthError(await server.request('/nope'), 404, 'not_found')
  })
})
