import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  registerTestClient,
  tokenRequest,
} from '../../../tests/support/oauth-flow.ts'

/** RFC 6749 §5.2: the characters `error_description` may hold. */
const DESCRIPTION_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** What a phisher would have the gateway's own page say. */
const SENTENCE = 'Security alert: call 0800 555 0100 now'

/**
 * What a client sent comes back in an error only when it is ours to name (a parameter this server
 * reads) or short and of its field's shape; nothing else of it reaches a JSON answer or a page.
 */
describe('error descriptions do not echo what a client chose', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer()
  })
  afterAll(() => server.close())

  const refusalOf = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, string>,
  })
  const postForm = (path: string, body: string) =>
    server.request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    })

  it('/token: an unsupported grant_type is quoted only as one word of the allowed characters', async () => {
    const client = await registerTestClient(server)
    for (const grantType of ['pass"word', 'a\\b', 'pässword', 'a\r\nb', 'a\0b', SENTENCE]) {
      const { status, body } = await refusalOf(
        await tokenRequest(server, client, { grant_type: grantType })
      )
      expect(status).toBe(400)
      expect(body).toEqual({
        error: 'unsupported_grant_type',
        error_description: 'grant_type a value of another shape (not shown) is not supported',
      })
    }
    expect(
      (await refusalOf(await tokenRequest(server, client, { grant_type: 'password' }))).body
    ).toEqual({
      error: 'unsupported_grant_type',
      error_description: "grant_type 'password' is not supported",
    })
  })

  it.each([
    ['a 30,000-character name', `${'n'.repeat(30_000)}=1&${'n'.repeat(30_000)}=2`],
    ['an empty name', '=1&=2'],
    [
      'a sentence',
      new URLSearchParams([
        [SENTENCE, '1'],
        [SENTENCE, '2'],
      ]).toString(),
    ],
  ])('/token, /revoke, /introspect: a repeated parameter with %s is not named', async (_, body) => {
    for (const path of ['/token', '/revoke', '/introspect']) {
      expect(await refusalOf(await postForm(path, body))).toEqual({
        status: 400,
        body: { error: 'invalid_request', error_description: 'a parameter is repeated' },
      })
    }
  })

  it('/token: a repeated parameter of its own is named', async () => {
    expect(await refusalOf(await postForm('/token', 'grant_type=a&grant_type=b'))).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the grant_type parameter is repeated' },
    })
  })

  it('/authorize: a repeated parameter the sender named is not shown on the page', async () => {
    const client = await registerTestClient(server)
    const url = new URL(authorizeUrl(client, newPkce()))
    url.searchParams.append(SENTENCE, '1')
    url.searchParams.append(SENTENCE, '2')
    const page = await browserFor(server).open(url.href, client.redirect_uris[0] ?? '')
    expect(page.response.status).toBe(400)
    expect(page.body).toContain('a parameter is repeated')
    expect(page.body).not.toContain('Security alert')
  })

  it('/authorize: a client_id URL is named on the page by its host, not its path', async () => {
    const clientId = `https://localhost/Security-alert-call-0800-555-0100-now/${'x'.repeat(900)}.json`
    const redirectUri = 'https://app.example/cb'
    const url = authorizeUrl({ client_id: clientId, redirect_uris: [redirectUri] }, newPkce())
    const page = await browserFor(server).open(url, redirectUri)
    expect(page.response.status).toBe(400)
    expect(page.body).toContain('the client metadata document at localhost cannot be used')
    expect(page.body).not.toContain('Security-alert')
  })

  it.each([
    ['grant_types', { grant_types: [`implicit"\u202e${'x'.repeat(3000)}`] }],
    ['response_types', { response_types: ['token\r\nSet-Cookie: x=1'] }],
    ['token_endpoint_auth_method', { token_endpoint_auth_method: 'x'.repeat(3000) }],
    ['application_type', { application_type: 'desk"top\\' }],
    ['redirect_uris', { redirect_uris: [`myapp://cb/\u202e"${'x'.repeat(3000)}`] }],
  ])('/register: a %s value of another shape is not echoed', async (field, metadata) => {
    const { status, body } = await refusalOf(
      await registerClient(server, { redirect_uris: ['https://app.example/cb'], ...metadata })
    )
    expect(status).toBe(400)
    expect(body.error_description).toMatch(new RegExp(`^${field}: a value of another shape`))
    expect(body.error_description).toMatch(DESCRIPTION_TEXT)
  })

  it('/register/<id>: a malformed Authorization header is described without quotes', async () => {
    const response = await server.request('/register/some-client', {
      headers: { Authorization: 'Basic abc' },
    })
    expect(await refusalOf(response)).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'the Authorization header must be of the form Bearer <token>',
      },
    })
  })
})
