import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  CURSOR_REGISTRATION,
  PUBLISHED_DOCUMENTS,
} from '../../../tests/support/client-metadata-documents.ts'
import {
  type MetadataDocumentServer,
  useMetadataDocumentServer,
} from '../../../tests/support/metadata-document-server.ts'
import {
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'

/**
 * Clients identified by a client ID metadata document, through the real app: the documents of
 * real MCP clients served over TLS from this machine (the test CA trusted in this process, and
 * `CIMD_ALLOW_LOOPBACK=true` so the gateway may fetch from loopback).
 */
describe('clients identified by a client ID metadata document', () => {
  let documents: MetadataDocumentServer
  let server: TestAuthServer
  useMetadataDocumentServer((started) => {
    documents = started
  })
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', CIMD_ALLOW_LOOPBACK: 'true' }, (fixture) => {
    server = fixture.server
  })

  /** Serves `document` at `path` as the client whose id is its URL. */
  const publish = (path: string, document: Record<string, unknown>, headers = {}) => {
    documents.serve(path, { body: { ...document, client_id: documents.url(path) }, headers })
    return documents.url(path)
  }
  const client = (clientId: string, redirectUri: string): RegisteredClient => ({
    client_id: clientId,
    redirect_uris: [redirectUri],
  })
  const fetchesOf = (path: string) => documents.requests.filter((p) => p === path).length

  it('advertises client_id_metadata_document_supported beside registration, with none', async () => {
    const metadata = (await (
      await server.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>
    expect(metadata.client_id_metadata_document_supported).toBe(true)
    expect(metadata.token_endpoint_auth_methods_supported).toContain('none')
    expect(metadata.registration_endpoint).toBe(`${server.config.issuer}/register`)
  })

  it.each(PUBLISHED_DOCUMENTS.map((d) => [d.client, d] as const))(
    '%s: its published document gets consent, a code, tokens and a refresh',
    async (_, published) => {
      const path = `/${published.client.replace(/\W+/g, '-')}.json`
      const clientId = publish(path, published.document)
      const cimdClient = client(clientId, published.redirectUri)
      const pkce = newPkce()

      const browser = browserFor(server)
      const consent = await browser.open(authorizeUrl(cimdClient, pkce), published.redirectUri)
      expect(consent.response.status, consent.body).toBe(200)
      expect(consent.body).toContain(
        `<strong id="client-host">localhost:${documents.port}</strong>`
      )
      expect(consent.body).toContain(
        `This application is identified by the URL <code>${clientId}</code>`
      )
      expect(consent.body).toContain(
        `<span id="client-name">${published.document.client_name}</span>`
      )
      expect(consent.body).not.toContain('registered itself with this gateway')

      const landed = await browser.submitConsent(consent, 'approve', published.redirectUri)
      const code = new URL(landed.url).searchParams.get('code') ?? ''
      expect(landed.url.startsWith(published.redirectUri), landed.url).toBe(true)
      const tokens = await exchangeCode(server, cimdClient, code, pkce)
      expect(tokens.status, await tokens.clone().text()).toBe(200)
      const issued = (await tokens.json()) as Record<string, string>
      expect(decodeJwt(issued.access_token ?? '').client_id).toBe(clientId)

      const refreshed = await tokenRequest(server, cimdClient, {
        grant_type: 'refresh_token',
        refresh_token: issued.refresh_token ?? '',
      })
      expect(refreshed.status).toBe(200)
      // One fetch served the consent page, the code, the token and the refresh.
      expect(fetchesOf(path)).toBe(1)
    }
  )

  it('Cursor, which publishes no document, still registers beside them and gets tokens', async () => {
    const cursor = await registerTestClient(server, CURSOR_REGISTRATION)
    expect(cursor.client_secret).toBeUndefined()
    const redirectUri = 'http://localhost:8787/callback'
    const { code, pkce } = await obtainCode(server, cursor, newPkce(), browserFor(server), {
      redirect_uri: redirectUri,
    })
    const response = await exchangeCode(server, cursor, code, pkce, { redirect_uri: redirectUri })
    expect(response.status).toBe(200)
  })

  it('a ChatGPT-style document that prefers private_key_jwt is used as the public client it allows', async () => {
    const chatgpt = PUBLISHED_DOCUMENTS.find((d) => d.client === 'ChatGPT')
    const clientId = publish('/chatgpt-assertion.json', chatgpt?.document ?? {})
    const cimdClient = client(clientId, chatgpt?.redirectUri ?? '')
    const { code, pkce } = await obtainCode(server, cimdClient)
    const response = await exchangeCode(server, cimdClient, code, pkce)
    expect(response.status).toBe(200)
  })

  it('keeps the document for as long as its Cache-Control allows, within bounds', async () => {
    const clientId = publish(
      '/cached.json',
      { client_name: 'Cached', redirect_uris: ['https://cached.example/cb'] },
      { 'Cache-Control': 'max-age=7200' }
    )
    const cimdClient = client(clientId, 'https://cached.example/cb')
    const { code, pkce } = await obtainCode(server, cimdClient)
    expect((await exchangeCode(server, cimdClient, code, pkce)).status).toBe(200)
    const key = keys.clientMetadataDocument(hashSecret(clientId))
    // Tokens were issued: the document stays for its max-age (2 h), not the unused 10 minutes.
    expect(await server.store.ttl(key)).toBeGreaterThan(7000)

    server.clock.advance(7201 * 1000)
    await server.store.delete(key) // Redis expires on its own clock; the manual one moved on
    await obtainCode(server, cimdClient)
    expect(fetchesOf('/cached.json')).toBe(2)
  })

  it('keeps a document nobody got tokens with for 10 minutes at most', async () => {
    const clientId = publish(
      '/unused.json',
      { client_name: 'Unused', redirect_uris: ['https://unused.example/cb'] },
      { 'Cache-Control': 'max-age=86400' }
    )
    const page = await browserFor(server).open(
      authorizeUrl(client(clientId, 'https://unused.example/cb'), newPkce()),
      'https://unused.example/cb'
    )
    expect(page.response.status).toBe(200)
    const ttl = await server.store.ttl(keys.clientMetadataDocument(hashSecret(clientId)))
    expect(ttl).toBeGreaterThan(500)
    expect(ttl).toBeLessThanOrEqual(600)
  })

  it('asks again every time for a client returning to this computer or to another site, never on a remembered consent', async () => {
    const browser = browserFor(server)
    const local = publish('/local.json', {
      client_name: 'Local app',
      redirect_uris: ['http://127.0.0.1/callback'],
    })
    const own = documents.url('/cb')
    const web = publish('/web.json', {
      client_name: 'Web app',
      redirect_uris: [own, 'https://web.example/cb'],
    })
    for (const [clientId, redirectUri] of [
      [local, 'http://127.0.0.1:50123/callback'],
      [web, own],
      [web, 'https://web.example/cb'],
    ] as const) {
      await obtainCode(server, client(clientId, redirectUri), newPkce(), browser)
    }
    // Signed in now, and all approved: only the redirect to the document's own host goes
    // straight back.
    const again = await browser.open(authorizeUrl(client(web, own), newPkce()), own)
    expect(again.url.startsWith(`${own}?code=`)).toBe(true)
    const elsewhere = await browser.open(
      authorizeUrl(client(web, 'https://web.example/cb'), newPkce()),
      'https://web.example/cb'
    )
    expect(elsewhere.response.status).toBe(200)
    expect(elsewhere.body).toContain(
      `It returns to <strong>web.example</strong>, not to ${new URL(own).host}`
    )
    const localAgain = await browser.open(
      authorizeUrl(client(local, 'http://127.0.0.1:50124/callback'), newPkce()),
      'http://127.0.0.1:50124/callback'
    )
    expect(localAgain.response.status).toBe(200)
    expect(localAgain.body).toContain(
      'It returns to this computer, where any program could use this identity'
    )
  })
})
