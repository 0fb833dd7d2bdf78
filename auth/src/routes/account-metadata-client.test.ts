import { describe, expect, it } from 'vitest'
import { TEST_ISSUER, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { PUBLISHED_DOCUMENTS } from '../../../tests/support/client-metadata-documents.ts'
import {
  type MetadataDocumentServer,
  useMetadataDocumentServer,
} from '../../../tests/support/metadata-document-server.ts'
import {
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * A client identified by a metadata document names itself: on `/account` it is introduced by the
 * host publishing the document, as on the consent page, and its URL is shown as text, not a link.
 */
describe('/account with a client identified by a metadata document', () => {
  let documents: MetadataDocumentServer
  let server: TestAuthServer
  useMetadataDocumentServer((started) => {
    documents = started
  })
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', CIMD_ALLOW_LOOPBACK: 'true' }, (fixture) => {
    server = fixture.server
  })

  it('shows the document host and URL, never the name as a link; revoking it works', async () => {
    const published = PUBLISHED_DOCUMENTS.find((d) => d.redirectUri.startsWith('https://'))
    if (!published) throw new Error('no published document with an https redirect')
    const path = '/account-client.json'
    const clientId = documents.url(path)
    documents.serve(path, {
      body: { ...published.document, client_name: '<img src=x>', client_id: clientId },
    })
    const client = { client_id: clientId, redirect_uris: [published.redirectUri] }
    const browser = browserFor(server)
    const { code, pkce } = await obtainCode(server, client, newPkce(), browser)
    expect((await exchangeCode(server, client, code, pkce)).status).toBe(200)

    const page = await browser.open(`${TEST_ISSUER}/account`, 'about:')
    const host = `localhost:${documents.port}`
    expect(page.body).toContain(`An application published by ${host}`)
    expect(page.body).toContain(
      `<strong class="client-host">${host}</strong> <code>${clientId}</code>`
    )
    expect(page.body).not.toContain('<img')
    expect(page.body).not.toContain('<a ')

    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
    const answer = await browser.open(`${TEST_ISSUER}/account/revoke`, 'about:', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
      body: new URLSearchParams({ csrf_token: csrf, kind: 'app', id: clientId }).toString(),
    })
    expect(answer.url).toBe(`${TEST_ISSUER}/account`)
    expect(answer.body).not.toContain(clientId)
  })
})
