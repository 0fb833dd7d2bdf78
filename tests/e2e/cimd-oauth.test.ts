import {
  Client as ClientV2,
  type OAuthClientProvider as OAuthClientProviderV2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransportV2,
  UnauthorizedError as UnauthorizedErrorV2,
} from '@modelcontextprotocol/client'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FakeGitHub } from '../support/fake-github.ts'
import type { GatewayProcess } from '../support/gateway-process.ts'
import { OCTOCAT, startGatewayWithGitHub } from '../support/gateway-with-github.ts'
import {
  createTestCertificates,
  type MetadataDocumentServer,
  startMetadataDocumentServer,
  type TestCertificates,
} from '../support/metadata-document-server.ts'
import { HeadlessOAuthProvider } from '../support/sdk-oauth-provider.ts'

/**
 * Client ID metadata documents end to end: the standalone gateway as a real process, trusting a
 * test CA (`NODE_EXTRA_CA_CERTS`) and allowed to fetch from loopback (`CIMD_ALLOW_LOOPBACK`), the
 * documents on a local https server, and the official MCP clients of both generations naming
 * themselves by `clientMetadataUrl`: discovery, the document, consent, GitHub, tokens, tools/call.
 */
describe('client ID metadata documents through the standalone gateway', () => {
  let certificates: TestCertificates
  let documents: MetadataDocumentServer
  let github: FakeGitHub
  let gateway: GatewayProcess
  beforeAll(async () => {
    certificates = await createTestCertificates()
    documents = await startMetadataDocumentServer(certificates)
    ;({ github, gateway } = await startGatewayWithGitHub([OCTOCAT], {
      ALLOWED_GITHUB_USERS: 'octocat',
      CIMD_ALLOW_LOOPBACK: 'true',
      NODE_EXTRA_CA_CERTS: certificates.caFile,
    }))
  })
  afterAll(async () => {
    await gateway?.stop()
    await github?.close()
    await documents?.close()
    await certificates?.remove()
  })

  /** A client's document at `path`: its redirect URI on this computer, any port. */
  const publish = (path: string, extra: Record<string, unknown> = {}) => {
    const clientId = documents.url(path)
    documents.serve(path, {
      body: {
        client_id: clientId,
        client_name: 'Document client',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        ...extra,
      },
      headers: { 'Cache-Control': 'max-age=3600' },
    })
    return clientId
  }

  const expectWhoami = (structured: unknown, clientId: string) =>
    expect(structured).toEqual({
      userId: '4242',
      userName: 'octocat',
      userEmail: 'octocat@example.com',
      clientId,
      scopes: ['mcp'],
    })

  it('the v1 SDK client (clientMetadataUrl) gets through to tools/call', async () => {
    const clientId = publish('/v1/client.json')
    const resource = new URL(`${gateway.url}/echo/mcp`)
    const provider = new HeadlessOAuthProvider({
      redirectUrl: 'http://127.0.0.1:43131/callback',
      clientMetadataUrl: clientId,
    })
    const client = new Client({ name: 'cimd-v1', version: '1.0.0' })
    const firstTry = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await expect(client.connect(firstTry)).rejects.toBeInstanceOf(UnauthorizedError)
    // No registration: the document's URL is the client id.
    expect(provider.client?.client_id).toBe(clientId)
    expect(provider.authorizationUrls[0]?.searchParams.get('client_id')).toBe(clientId)
    await firstTry.finishAuth(provider.code())
    expect(provider.savedTokens?.refresh_token).toBeTruthy()

    const transport = new StreamableHTTPClientTransport(resource, { authProvider: provider })
    await client.connect(transport)
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expectWhoami(whoami.structuredContent, clientId)
    } finally {
      await transport.terminateSession().catch(() => {})
      await client.close()
    }
    expect(documents.requests.filter((path) => path === '/v1/client.json')).toHaveLength(1)
  })

  it('the v2 client (@modelcontextprotocol/client, clientMetadataUrl) gets through to tools/call', async () => {
    const clientId = publish('/v2/client.json')
    const resource = new URL(`${gateway.url}/echo/mcp`)
    const headless = new HeadlessOAuthProvider({
      redirectUrl: 'http://127.0.0.1:43132/callback',
      clientMetadataUrl: clientId,
    })
    const provider = headless as unknown as OAuthClientProviderV2
    const client = new ClientV2({ name: 'cimd-v2', version: '2.0.0' })
    const firstTry = new StreamableHTTPClientTransportV2(resource, { authProvider: provider })
    await expect(client.connect(firstTry)).rejects.toBeInstanceOf(UnauthorizedErrorV2)
    expect(headless.client?.client_id).toBe(clientId)
    await firstTry.finishAuth(headless.lastRedirect?.searchParams ?? new URLSearchParams())

    const transport = new StreamableHTTPClientTransportV2(resource, { authProvider: provider })
    await client.connect(transport)
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} })
      expectWhoami(whoami.structuredContent, clientId)
    } finally {
      await client.close()
    }
  })

  /** A token request naming `clientId`: the gateway's JSON error. */
  const tokenError = async (target: GatewayProcess, clientId: string) => {
    const response = await fetch(`${target.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: 'x',
        code_verifier: 'x',
      }),
    })
    return { status: response.status, body: (await response.json()) as Record<string, string> }
  }
  const refusedAs = (clientId: string, problem: string | RegExp) => ({
    status: 401,
    body: {
      error: 'invalid_client',
      error_description:
        typeof problem === 'string'
          ? `the client metadata document at ${new URL(clientId).host} cannot be used: ${problem}`
          : expect.stringMatching(problem),
    },
  })

  it('refuses a redirect to a private address, an oversize, a slow or an impostor document', async () => {
    documents.serve('/redirect.json', {
      status: 302,
      headers: { Location: 'https://169.254.169.254/latest/meta-data/' },
      body: '',
    })
    documents.serve('/loopback-redirect.json', {
      status: 301,
      headers: { Location: `https://127.0.0.1:${documents.port}/v1/client.json` },
      body: '',
    })
    const big = publish('/big.json', { padding: 'x'.repeat(6000) })
    const slow = documents.url('/slow.json')
    documents.serve('/slow.json', { body: { client_id: slow }, stallMs: 8_000 })
    const impostor = publish('/impostor.json', { client_id: documents.url('/someone-else.json') })

    const redirect = documents.url('/redirect.json')
    expect(await tokenError(gateway, redirect)).toEqual(
      refusedAs(
        redirect,
        'it answered with a redirect (HTTP 302 to 169.254.169.254), which is not followed: the document must be served at its client_id URL'
      )
    )
    const loopbackRedirect = documents.url('/loopback-redirect.json')
    expect(await tokenError(gateway, loopbackRedirect)).toEqual(
      refusedAs(
        loopbackRedirect,
        /redirect \(HTTP 301 to 127\.0\.0\.1:\d+\), which is not followed/
      )
    )
    expect(await tokenError(gateway, big)).toEqual(
      refusedAs(big, 'it is larger than 5120 bytes, the most this gateway reads')
    )
    const started = Date.now()
    expect(await tokenError(gateway, slow)).toEqual({
      status: 503,
      body: {
        error: 'temporarily_unavailable',
        error_description: `the client metadata document at ${new URL(slow).host} could not be fetched: it did not answer completely within 5 s; retry later`,
      },
    })
    expect(Date.now() - started).toBeLessThan(7_000)
    expect(await tokenError(gateway, impostor)).toEqual(
      refusedAs(
        impostor,
        `it names another client_id (host '${new URL(documents.url('/someone-else.json')).host}'), not its own URL`
      )
    )
  }, 20_000)

  it('sends a redirect_uri the document does not list nowhere but the error page', async () => {
    const clientId = publish('/strict.json')
    const url = new URL(`${gateway.url}/authorize`)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'https://attacker.example/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 's',
    }).toString()
    const response = await fetch(url, { redirect: 'manual' })
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
    expect(await response.text()).toContain('redirect_uri does not match')
  })

  describe('a gateway without CIMD_ALLOW_LOOPBACK (the default)', () => {
    let strict: GatewayProcess
    let strictGitHub: FakeGitHub
    beforeAll(async () => {
      ;({ github: strictGitHub, gateway: strict } = await startGatewayWithGitHub([OCTOCAT], {
        ALLOWED_GITHUB_USERS: 'octocat',
        NODE_EXTRA_CA_CERTS: certificates.caFile,
      }))
    })
    afterAll(async () => {
      await strict?.stop()
      await strictGitHub?.close()
    })

    it.each([
      // A name's address is not told to the caller (the operator's log has it).
      ['localhost (127.0.0.1)', () => documents.url('/v1/client.json'), 'localhost has no'],
      [
        '127.0.0.1',
        () => `https://127.0.0.1:${documents.port}/v1/client.json`,
        '127.0.0.1 is not a',
      ],
      ['::1', () => `https://[::1]:${documents.port}/v1/client.json`, '[::1] is not a'],
      ['10.x', () => 'https://10.1.2.3/client.json', '10.1.2.3 is not a'],
      [
        '169.254.169.254',
        () => 'https://169.254.169.254/latest/client.json',
        '169.254.169.254 is not a',
      ],
    ])('refuses a document at %s before any request', async (_, url, refusal) => {
      const before = documents.requests.length
      const clientId = url()
      expect(await tokenError(strict, clientId)).toEqual(
        refusedAs(
          clientId,
          `its host ${refusal} public address: documents are fetched from public addresses only`
        )
      )
      expect(documents.requests.length).toBe(before)
    })
  })
})
