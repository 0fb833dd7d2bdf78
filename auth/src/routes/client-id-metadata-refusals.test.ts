import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestAuthServer, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  type MetadataDocumentServer,
  useMetadataDocumentServer,
} from '../../../tests/support/metadata-document-server.ts'
import {
  authorizeUrl,
  browserFor,
  clientRequest,
  exchangeCode,
  newPkce,
  obtainCode,
  type RegisteredClient,
  signInInBrowser,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { runCommand } from '../cli/run-command.ts'
import { DOCUMENT_FETCH_LIMITS } from '../clients/metadata-document-clients.ts'

/** Everything that must refuse a metadata document, each with an OAuth error that says why. */
describe('client ID metadata documents that are refused', () => {
  let documents: MetadataDocumentServer
  let server: TestAuthServer
  useMetadataDocumentServer((started) => {
    documents = started
  })
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', CIMD_ALLOW_LOOPBACK: 'true' }, (fixture) => {
    server = fixture.server
  })

  const publish = (path: string, document: Record<string, unknown> = {}) => {
    documents.serve(path, {
      body: {
        client_id: documents.url(path),
        client_name: 'Refusal check',
        redirect_uris: ['https://app.example/cb'],
        ...document,
      },
    })
    return documents.url(path)
  }
  const client = (clientId: string, redirectUri = 'https://app.example/cb'): RegisteredClient => ({
    client_id: clientId,
    redirect_uris: [redirectUri],
  })
  const fetchesOf = (path: string) => documents.requests.filter((p) => p === path).length
  /** A token request naming the client: the JSON error and its status. */
  const tokenError = async (clientId: string) => {
    const response = await tokenRequest(server, client(clientId), {
      grant_type: 'authorization_code',
      code: 'irrelevant',
      code_verifier: 'irrelevant',
    })
    return { status: response.status, body: (await response.json()) as Record<string, string> }
  }
  const authorizePage = (clientId: string, redirectUri = 'https://app.example/cb') =>
    browserFor(server).open(authorizeUrl(client(clientId, redirectUri), newPkce()), redirectUri)
  /** A refresh with a made-up token by the client `clientId`, from the address `caller`. */
  const refreshWith = (clientId: string, caller: string) =>
    server.app.request(
      `${server.config.issuer}/token`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'junk',
          client_id: clientId,
        }),
      },
      { incoming: { socket: { remoteAddress: caller } } }
    )
  /** Token requests naming `count` junk documents on the documents' host; their statuses. */
  const junkFlood = async (count: number, callerOf: (i: number) => string) => {
    const statuses: number[] = []
    for (let i = 0; i < count; i++) {
      const flood = await refreshWith(documents.url(`/junk-${randomUUID()}.json`), callerOf(i))
      statuses.push(flood.status)
    }
    return statuses
  }

  it('a redirect_uri the document does not list ends on the error page, not at the redirect', async () => {
    const clientId = publish('/listed.json')
    const page = await authorizePage(clientId, 'https://attacker.example/cb')
    expect(page.url.startsWith(server.config.issuer)).toBe(true)
    expect(page.response.status).toBe(400)
    expect(page.body).toContain('redirect_uri does not match any URI this application registered')
  })

  it('a document whose client_id differs is refused at /authorize and /token, fetched once', async () => {
    const clientId = publish('/impostor.json', {
      client_id: 'https://claude.ai/oauth/mcp-oauth-client-metadata',
    })
    const description = `the client metadata document at ${new URL(clientId).host} cannot be used: it names another client_id (host 'claude.ai'), not its own URL`
    const page = await authorizePage(clientId)
    expect(page.response.status).toBe(400)
    expect(page.body).toContain(description.replaceAll("'", '&#39;'))
    expect(page.body).toContain('<code>invalid_client</code>')
    expect(await tokenError(clientId)).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: description },
    })
    // The failure is remembered: a client retrying does not make the gateway fetch again.
    expect(fetchesOf('/impostor.json')).toBe(1)
  })

  it('an unreachable document is temporarily_unavailable, so the client keeps its tokens', async () => {
    documents.serve('/down.json', { status: 503, body: {} })
    expect(await tokenError(documents.url('/down.json'))).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: `the client metadata document at ${new URL(documents.url('/')).host} could not be fetched: it answered HTTP 503; retry later`,
      },
    })
  })

  it('a client_id URL that is not in normalized form is refused without a fetch', async () => {
    const before = documents.requests.length
    const { status, body } = await tokenError(`https://LOCALHOST:${documents.port}/x/../c.json`)
    expect(status).toBe(401)
    expect(body.error_description).toBe(
      'client_id is an https URL, so a metadata document URL, but it must be in normalized form (as a URL parser writes it)'
    )
    expect(documents.requests.length).toBe(before)
  })

  it('a metadata-document client cannot start the device flow', async () => {
    const clientId = publish('/device.json', {
      grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
    })
    const response = await clientRequest(server, client(clientId), '/device_authorization', {})
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'unauthorized_client' })
  })

  it('fetches are limited: past ten a minute the caller gets 429, and no fetch', async () => {
    server.clock.advance(60_000) // a fresh window, whatever the tests before fetched
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      statuses.push((await tokenError(documents.url(`/flood-${i}.json`))).status)
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429])
    expect(fetchesOf('/flood-10.json')).toBe(0)
  })

  it('a flood of junk URLs on a client’s host does not lock out that client once tokens were issued to it', async () => {
    server.clock.advance(60_000)
    const known = publish('/known.json')
    const { code, pkce } = await obtainCode(server, client(known), newPkce())
    const issued = (await (await exchangeCode(server, client(known), code, pkce)).json()) as {
      refresh_token: string
    }
    // The document goes stale; others spend the host's fetches on URLs nobody approved.
    server.clock.advance(3_601_000)
    const { perHost } = DOCUMENT_FETCH_LIMITS
    const junk = await junkFlood(perHost + 1, (i) => `198.51.100.${i + 1}`)
    expect(junk).toEqual([...Array<number>(perHost).fill(401), 429])

    const refreshed = await tokenRequest(server, client(known), {
      grant_type: 'refresh_token',
      refresh_token: issued.refresh_token,
    })
    expect(refreshed.status).toBe(200)
    expect(fetchesOf('/known.json')).toBe(2)
  })

  it('one caller cannot spend a host’s fetches alone: a new client there is still fetched', async () => {
    server.clock.advance(60_000)
    const { perCaller } = DOCUMENT_FETCH_LIMITS
    const junk = await junkFlood(perCaller + 1, () => '198.51.100.200')
    expect(junk).toEqual([...Array<number>(perCaller).fill(401), 429])
    const page = await authorizePage(publish('/first-use.json'))
    expect(page.response.status).toBe(200)
    expect(fetchesOf('/first-use.json')).toBe(1)
  })

  it('a caller over its limit is refused alone: another asking for the same document at once gets it', async () => {
    server.clock.advance(60_000)
    const attacker = '198.51.100.201'
    const { perCaller } = DOCUMENT_FETCH_LIMITS
    await junkFlood(perCaller, () => attacker)
    const clientId = publish('/asked-at-once.json')
    const [refused, served] = await Promise.all([
      refreshWith(clientId, attacker),
      refreshWith(clientId, '198.51.100.202'),
    ])
    expect(refused.status).toBe(429)
    // A client's server cannot sign in at the gateway: it is not told to.
    const refusal = (await refused.json()) as { error_description: string }
    expect(refusal.error_description).toContain('retry in a minute')
    expect(refusal.error_description).not.toContain('sign in')
    // The document was had: the client is known, and only its made-up refresh token is refused.
    expect(served.status).toBe(400)
    expect(((await served.json()) as { error: string }).error).toBe('invalid_grant')
    expect(fetchesOf('/asked-at-once.json')).toBe(1)
  })

  it('a signed-in user reaches a new client on a host whose fetches others spent', async () => {
    server.clock.advance(60_000)
    const browser = browserFor(server)
    await signInInBrowser(server, browser)
    const { perHost, perCaller } = DOCUMENT_FETCH_LIMITS
    await junkFlood(perHost + 1, (i) => `198.51.101.${Math.floor(i / perCaller) + 1}`)
    const clientId = publish('/signed-in.json')
    const refused = await authorizePage(clientId)
    expect(refused.response.status).toBe(429)
    // The page tells the refused the way past the limits others spent.
    expect(refused.body).toContain('sign in at this gateway first')
    const page = await browser.open(
      authorizeUrl(client(clientId), newPkce()),
      'https://app.example/cb'
    )
    expect(page.response.status).toBe(200)
    expect(page.body).toContain('Approve')
  })

  it('deleting one revokes what it holds and blocks its URL', async () => {
    server.clock.advance(60_000)
    const clientId = publish('/deleted.json')
    const cimdClient = client(clientId)
    const { code, pkce } = await obtainCode(server, cimdClient)
    const tokens = (await (await exchangeCode(server, cimdClient, code, pkce)).json()) as Record<
      string,
      string
    >
    const result = await runCommand(
      { config: server.config, store: server.store, clock: server.clock },
      ['clients', 'delete', clientId]
    )
    expect(result.data).toEqual({ client_id: clientId, deleted: true })
    const refresh = await tokenRequest(server, cimdClient, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    })
    expect(refresh.status).toBe(401)
    expect(await refresh.json()).toEqual({
      error: 'invalid_client',
      error_description: 'this application has been removed from this gateway by its operator',
    })
    const page = await authorizePage(clientId)
    expect(page.body).toContain('removed from this gateway by its operator')
  })
})

describe('without CIMD_ALLOW_LOOPBACK (the default), and with the mechanisms turned off', () => {
  let documents: MetadataDocumentServer
  const servers: TestAuthServer[] = []
  useMetadataDocumentServer((started) => {
    documents = started
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })
  const start = async (env: Record<string, string>) => {
    const server = await createTestAuthServer(env)
    servers.push(server)
    return server
  }
  const metadataOf = async (server: TestAuthServer) =>
    (await (await server.request('/.well-known/oauth-authorization-server')).json()) as Record<
      string,
      unknown
    >

  it('a document on a loopback address is refused, and never fetched', async () => {
    const server = await start({})
    const clientId = documents.url('/loopback.json')
    documents.serve('/loopback.json', {
      body: { client_id: clientId, client_name: 'Local', redirect_uris: ['https://a.example/cb'] },
    })
    const response = await tokenRequest(server, { client_id: clientId, redirect_uris: [] }, {})
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({
      error: 'invalid_client',
      error_description: `the client metadata document at ${new URL(clientId).host} cannot be used: its host localhost has no public address: documents are fetched from public addresses only`,
    })
    expect(documents.requests).not.toContain('/loopback.json')
  })

  it('CLIENT_ID_METADATA_DOCUMENTS=false: not advertised, and an https client_id is refused saying so', async () => {
    const server = await start({ CLIENT_ID_METADATA_DOCUMENTS: 'false' })
    expect(await metadataOf(server)).not.toHaveProperty('client_id_metadata_document_supported')
    const response = await tokenRequest(
      server,
      { client_id: 'https://claude.ai/oauth/claude-code-client-metadata', redirect_uris: [] },
      {}
    )
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({
      error: 'invalid_client',
      error_description:
        'this gateway does not accept client ID metadata documents (an https client_id): the application needs a client_id this gateway issued',
    })
  })

  it('DYNAMIC_CLIENT_REGISTRATION=false: no registration_endpoint, and /register says why', async () => {
    const server = await start({ DYNAMIC_CLIENT_REGISTRATION: 'false' })
    const metadata = await metadataOf(server)
    expect(metadata).not.toHaveProperty('registration_endpoint')
    expect(metadata.client_id_metadata_document_supported).toBe(true)
    const response = await server.request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_name: 'x', redirect_uris: ['https://a.example/cb'] }),
    })
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({
      error: 'access_denied',
      error_description:
        'dynamic client registration is turned off on this gateway: identify the application with a client ID metadata document (an https client_id)',
    })
    // With documents off too, /register names no other way in.
    const closed = await start({
      DYNAMIC_CLIENT_REGISTRATION: 'false',
      CLIENT_ID_METADATA_DOCUMENTS: 'false',
    })
    const refused = await closed.request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_name: 'x', redirect_uris: ['https://a.example/cb'] }),
    })
    expect(((await refused.json()) as { error_description: string }).error_description).toBe(
      'dynamic client registration is turned off on this gateway, and so are client ID metadata documents: this gateway accepts no new applications'
    )
  })
})
