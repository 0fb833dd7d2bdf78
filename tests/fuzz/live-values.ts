import { TEST_ISSUER, type TestAuthServer } from '../support/auth-app.ts'
import {
  ALICE,
  authorizeUrl,
  browserFor,
  clientRequest,
  exchangeCode,
  newPkce,
  obtainCode,
  registerTestClient,
} from '../support/oauth-flow.ts'
import { PROBE, type Template } from './arbitraries.ts'

export const INTERNAL_SECRET = 'fuzz-internal-secret-0123456789abcdef'
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/**
 * Fills `dictionary` with what a real client, device and browser hold in the running gateway
 * `server`, and `templates` with a valid request of each endpoint: the fuzz mixes the first into
 * its requests and spoils the second part by part (endpoints.test.ts).
 */
export async function collectLiveValues(
  server: TestAuthServer,
  dictionary: { values: string[]; cookies: string[]; bearers: string[] },
  templates: Map<string, Template[]>
): Promise<void> {
  // What a real client, device and browser hold, for the fuzz to mix in.
  const browser = browserFor(server)
  const client = await registerTestClient(server)
  const spent = await obtainCode(server, client, undefined, browser)
  const tokens = (await (await exchangeCode(server, client, spent.code, spent.pkce)).json()) as {
    access_token: string
    refresh_token: string
  }
  const unused = await obtainCode(server, client, undefined, browser)
  const other = await registerTestClient(server, { client_name: `Other ${PROBE}` })
  const consent = await browser.open(authorizeUrl(other, newPkce()), other.redirect_uris[0] ?? '')
  const account = await browser.open(`${TEST_ISSUER}/account`, 'about:')
  const device = await registerTestClient(server, {
    redirect_uris: [],
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    token_endpoint_auth_method: 'none',
  })
  const started = (await (
    await clientRequest(server, device, '/device_authorization', {})
  ).json()) as { device_code: string; user_code: string }
  const devicePage = await browser.open(`${TEST_ISSUER}/device`, 'about:')
  const decision = await browser.submitForm(devicePage, { user_code: started.user_code }, 'about:')
  const pages = [consent, account, devicePage, decision]
  const hidden = pages.flatMap((page) => [...page.body.matchAll(/name="[^"]+" value="([^"]+)"/g)])
  const registration = client as unknown as Record<string, string>
  dictionary.values.push(
    client.client_id,
    client.client_secret ?? '',
    registration.registration_access_token ?? '',
    client.redirect_uris[0] ?? '',
    other.client_id,
    device.client_id,
    tokens.access_token,
    tokens.refresh_token,
    unused.code,
    unused.pkce.verifier,
    unused.pkce.challenge,
    started.device_code,
    started.user_code,
    ...hidden.map((match) => match[1] ?? ''),
    String(ALICE.id),
    ALICE.login,
    'authorization_code',
    'refresh_token',
    DEVICE_GRANT,
    'client_credentials',
    'S256',
    'plain',
    'code',
    'mcp',
    'approve',
    'deny',
    'none',
    'client_secret_post',
    'client_secret_basic',
    `${TEST_ISSUER}/echo/mcp`,
    TEST_ISSUER
  )
  const jar = [...browser.cookiesOf(TEST_ISSUER)].map(([key, value]) => `${key}=${value}`)
  dictionary.cookies.push(jar.join('; '), ...jar)
  dictionary.bearers.push(
    tokens.access_token,
    tokens.refresh_token,
    registration.registration_access_token ?? '',
    INTERNAL_SECRET
  )

  // A valid request of each endpoint, for the fuzz to spoil part by part.
  const fieldsOf = (body: string) =>
    Object.fromEntries(
      [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1] ?? '',
        m[2] ?? '',
      ])
    )
  const browserHeaders = { cookie: jar.join('; '), origin: TEST_ISSUER }
  const confidential = { client_id: client.client_id, client_secret: client.client_secret ?? '' }
  const add = (route: string, ...list: Template[]) => templates.set(route, list)
  add(
    '/token',
    ...[
      {
        grant_type: 'authorization_code',
        code: unused.code,
        code_verifier: unused.pkce.verifier,
        redirect_uri: client.redirect_uris[0] ?? '',
      },
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
    ].map((form) => ({ method: 'POST', path: '/token', form: { ...confidential, ...form } })),
    {
      method: 'POST',
      path: '/token',
      form: {
        client_id: device.client_id,
        grant_type: DEVICE_GRANT,
        device_code: started.device_code,
      },
    }
  )
  for (const path of ['/revoke', '/introspect'])
    add(path, { method: 'POST', path, form: { ...confidential, token: tokens.access_token } })
  add('/device_authorization', {
    method: 'POST',
    path: '/device_authorization',
    form: { client_id: device.client_id, scope: 'mcp' },
  })
  const metadata = {
    client_name: 'Fuzzed',
    redirect_uris: ['https://client.example.com/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_post',
  }
  add('/register', { method: 'POST', path: '/register', json: metadata })
  // Its own client: a DELETE that gets through must not take the other templates' client.
  const configured = (await registerTestClient(server)) as unknown as Record<string, string>
  const configuration = `/register/${configured.client_id}`
  add(
    '/register/:client_id',
    ...['GET', 'PUT', 'DELETE'].map((method) => ({
      method,
      path: configuration,
      headers: { authorization: `Bearer ${configured.registration_access_token}` },
      ...(method === 'PUT' ? { json: { ...metadata, client_id: configured.client_id } } : {}),
    }))
  )
  const authorizeQuery = Object.fromEntries(new URL(authorizeUrl(other, newPkce())).searchParams)
  add(
    '/authorize',
    { method: 'GET', path: '/authorize', query: authorizeQuery, headers: browserHeaders },
    {
      method: 'POST',
      path: '/authorize',
      form: { ...fieldsOf(consent.body), decision: 'approve' },
      headers: browserHeaders,
    }
  )
  add('/device', {
    method: 'POST',
    path: '/device',
    form: { ...fieldsOf(devicePage.body), user_code: started.user_code },
    headers: browserHeaders,
  })
  add('/device/decision', {
    method: 'POST',
    path: '/device/decision',
    form: { ...fieldsOf(decision.body), decision: 'approve' },
    headers: browserHeaders,
  })
  for (const path of ['/account/revoke', '/account/sign-out', '/account/sign-in'])
    add(path, { method: 'POST', path, form: fieldsOf(account.body), headers: browserHeaders })
  add('/callback', {
    method: 'GET',
    path: '/callback',
    query: { code: 'fuzz', state: 'fuzz' },
    headers: browserHeaders,
  })
  add('/verify', {
    method: 'GET',
    path: '/verify',
    headers: {
      authorization: `Bearer ${tokens.access_token}`,
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'localhost:8080',
      'x-forwarded-uri': '/echo/mcp',
      'x-forwarded-method': 'POST',
    },
  })
  for (const path of ['/internal/users/:userId', '/internal/users/:userId/github-token'])
    add(path, {
      method: 'GET',
      path: path.replace(':userId', String(ALICE.id)),
      headers: { authorization: `Bearer ${INTERNAL_SECRET}` },
    })
  add('/dev-login', { method: 'POST', path: '/dev-login', form: { login: 'alice' } })
}
