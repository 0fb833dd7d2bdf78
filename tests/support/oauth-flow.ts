import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { hashSecret } from '../../auth/src/oauth/secrets.ts'
import { keys } from '../../auth/src/store/keys.ts'
import { createTestAuthServer, TEST_ISSUER, type TestAuthServer } from './auth-app.ts'
import { type FakeGitHub, startFakeGitHub } from './fake-github.ts'
import { HeadlessBrowser } from './headless-browser.ts'

/** A gateway app wired to a fake GitHub, plus helpers to walk through the code flow. */
export interface FlowFixture {
  readonly github: FakeGitHub
  browser(): HeadlessBrowser
}

export const ALICE = { id: 1001, login: 'alice', name: 'Alice Liddell', email: 'alice@example.com' }
export const MALLORY = { id: 6666, login: 'mallory', name: 'Mallory', email: 'mallory@example.com' }
/** ALICE as the audit trail names her. */
export const ALICE_AUDITED = { user_id: String(ALICE.id), login: ALICE.login }

export async function startFlowGitHub(): Promise<FakeGitHub> {
  return startFakeGitHub({ callbackUrl: `${TEST_ISSUER}/callback`, users: [ALICE, MALLORY] })
}

/**
 * Registers the hooks of a test file that drives the code flow: a fake GitHub with ALICE and
 * MALLORY, a gateway app on it (with `env` on top), ALICE signing in unless a test says otherwise.
 */
export function useFlowServer(
  env: Record<string, string>,
  ready: (fixture: { github: FakeGitHub; server: TestAuthServer }) => void
): void {
  let github: FakeGitHub | undefined
  let server: TestAuthServer | undefined
  beforeAll(async () => {
    github = await startFlowGitHub()
    server = await createTestAuthServer({ ...github.env, ...env })
    ready({ github, server })
  })
  beforeEach(() => {
    github?.setNextLogin('alice')
  })
  afterAll(async () => {
    await server?.close()
    await github?.close()
  })
}

/**
 * Lets the reuse grace of a rotation run out: the gateway's clock moves past it, and the store
 * forgets the successor record left for `replaced`, as Redis does once the record's TTL (the
 * grace) is over.
 */
export async function passReuseGrace(server: TestAuthServer, replaced: string): Promise<void> {
  server.clock.advance((server.config.refreshTokenReuseGrace + 1) * 1000)
  await server.store.delete(keys.refreshSuccessor(hashSecret(replaced)))
}

/** Sends gateway URLs to the in-process app and everything else over the network. */
export function browserFor(server: TestAuthServer): HeadlessBrowser {
  return new HeadlessBrowser((url) =>
    url.origin === TEST_ISSUER
      ? (target, init) => Promise.resolve(server.app.request(target, init))
      : (target, init) => fetch(target, init)
  )
}

export interface Pkce {
  readonly verifier: string
  readonly challenge: string
}

export function newPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export interface RegisteredClient {
  readonly client_id: string
  readonly client_secret?: string
  readonly redirect_uris: string[]
}

/** What RFC 7592 manages a registration with, as the registration response gives it. */
export interface RegistrationManagement {
  readonly registration_access_token: string
  readonly registration_client_uri: string
}

export interface ManagedClient extends RegisteredClient, RegistrationManagement {}

/** A request to the client's configuration endpoint (RFC 7592), with its registration token. */
export function manageClient(
  server: TestAuthServer,
  client: RegistrationManagement,
  init: RequestInit = {},
  token = client.registration_access_token
) {
  return server.request(new URL(client.registration_client_uri).pathname, {
    ...init,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      ...init.headers,
    },
  })
}

export async function registerTestClient(
  server: TestAuthServer,
  metadata: Record<string, unknown> = {}
): Promise<RegisteredClient> {
  const response = await server.request('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test client',
      redirect_uris: ['https://client.example.com/callback'],
      token_endpoint_auth_method: 'client_secret_post',
      ...metadata,
    }),
  })
  if (response.status !== 201) throw new Error(`registration failed: ${await response.text()}`)
  return (await response.json()) as RegisteredClient
}

export function authorizeUrl(
  client: RegisteredClient,
  pkce: Pkce,
  extra: Record<string, string> = {}
): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0] ?? '',
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    state: 'client-state',
    resource: `${TEST_ISSUER}/echo/mcp`,
    ...extra,
  })
  return `${TEST_ISSUER}/authorize?${params}`
}

/** Walks authorize → consent (approve) → GitHub → callback and returns the client's redirect. */
export async function obtainCode(
  server: TestAuthServer,
  client: RegisteredClient,
  pkce: Pkce = newPkce(),
  browser: HeadlessBrowser = browserFor(server),
  extra: Record<string, string> = {}
): Promise<{ code: string; redirect: URL; pkce: Pkce }> {
  const redirectUri = extra.redirect_uri ?? client.redirect_uris[0] ?? ''
  const consent = await browser.open(authorizeUrl(client, pkce, extra), redirectUri)
  const page = consent.body ? await browser.submitConsent(consent, 'approve', redirectUri) : consent
  const redirect = new URL(page.url)
  const code = redirect.searchParams.get('code')
  if (!code) throw new Error(`no code: ${page.url} ${page.body.slice(0, 500)}`)
  return { code, redirect, pkce }
}

/** A form POST to a client-authenticated endpoint, with the client's credentials in the body. */
export function clientRequest(
  server: TestAuthServer,
  client: RegisteredClient,
  path: string,
  params: Record<string, string>
) {
  return server.request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: client.client_id,
      ...(client.client_secret ? { client_secret: client.client_secret } : {}),
      ...params,
    }).toString(),
  })
}

export function tokenRequest(
  server: TestAuthServer,
  client: RegisteredClient,
  params: Record<string, string>
) {
  return clientRequest(server, client, '/token', params)
}

export async function exchangeCode(
  server: TestAuthServer,
  client: RegisteredClient,
  code: string,
  pkce: Pkce,
  extra: Record<string, string> = {}
) {
  return tokenRequest(server, client, {
    grant_type: 'authorization_code',
    code,
    code_verifier: pkce.verifier,
    redirect_uri: client.redirect_uris[0] ?? '',
    ...extra,
  })
}

/** A new client is approved in `browser` and its code exchanged: the browser keeps a session. */
export async function signInInBrowser(server: TestAuthServer, browser: HeadlessBrowser) {
  const client = await registerTestClient(server)
  const { code, pkce } = await obtainCode(server, client, newPkce(), browser)
  const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as {
    access_token: string
    refresh_token: string
  }
  return { client, tokens }
}

/** The client sends the browser to `/authorize` again; the answer is what the browser lands on. */
export function authorizeAgain(browser: HeadlessBrowser, client: RegisteredClient) {
  return browser.open(authorizeUrl(client, newPkce()), client.redirect_uris[0] ?? '')
}

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** A public CLI client registers for the device grant and starts a device authorization. */
export async function startDeviceAuthorization(server: TestAuthServer) {
  const cli = await registerTestClient(server, {
    client_name: 'gateway CLI',
    redirect_uris: [],
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    token_endpoint_auth_method: 'none',
  })
  const device = (await (await clientRequest(server, cli, '/device_authorization', {})).json()) as {
    device_code: string
    user_code: string
    verification_uri_complete: string
  }
  return { cli, device }
}

/** The user enters the device's code in `browser` and approves; returns the last page. */
export async function approveDevice(
  browser: HeadlessBrowser,
  device: { user_code: string; verification_uri_complete: string }
) {
  const codePage = await browser.open(device.verification_uri_complete, 'about:')
  const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
  return browser.submitConsent(consent, 'approve', 'about:')
}
