import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  authorizeUrl,
  browserFor,
  exchangeCode,
  type ManagedClient,
  manageClient,
  newPkce,
  obtainCode,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

const KEPT = 'https://client.example.com/kept'
const DROPPED = 'https://client.example.com/dropped'

describe('a client changed by its owner while its user signs in', () => {
  let server: TestAuthServer
  let github: FakeGitHub
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
    github = fixture.github
  })

  const manage = (client: ManagedClient, method: 'PUT' | 'DELETE', body?: object) =>
    manageClient(server, client, { method, ...(body ? { body: JSON.stringify(body) } : {}) })

  /** Consent given for DROPPED; the browser stops on its way to GitHub. */
  const atGitHub = async () => {
    const client = (await registerTestClient(server, {
      redirect_uris: [DROPPED, KEPT],
      token_endpoint_auth_method: 'none',
    })) as ManagedClient
    const browser = browserFor(server)
    const pkce = newPkce()
    const consent = await browser.open(authorizeUrl(client, pkce), DROPPED)
    const page = await browser.submitConsent(consent, 'approve', github.baseUrl)
    expect(page.url.startsWith(github.baseUrl)).toBe(true)
    return { client, browser, page, pkce }
  }

  it('sends nothing to a redirect URI removed meanwhile', async () => {
    const { client, browser, page } = await atGitHub()
    const update = await manage(client, 'PUT', {
      client_id: client.client_id,
      client_name: 'Test client',
      redirect_uris: [KEPT],
      token_endpoint_auth_method: 'none',
    })
    expect(update.status).toBe(200)

    const landed = await browser.open(page.url, DROPPED)
    expect(landed.url.startsWith(DROPPED)).toBe(false)
    expect(landed.body).toContain('changed where it receives sign-ins')
  })

  it('sends nothing to a client deleted meanwhile', async () => {
    const { client, browser, page } = await atGitHub()
    expect((await manage(client, 'DELETE')).status).toBe(204)

    const landed = await browser.open(page.url, DROPPED)
    expect(landed.url.startsWith(DROPPED)).toBe(false)
    expect(landed.body).toContain('was removed while you were signing in')
  })

  it('refuses a code whose redirect URI the client dropped before redeeming it', async () => {
    const client = (await registerTestClient(server, {
      redirect_uris: [DROPPED, KEPT],
      token_endpoint_auth_method: 'none',
    })) as ManagedClient
    const { code, pkce } = await obtainCode(server, client)
    await manage(client, 'PUT', {
      client_id: client.client_id,
      client_name: 'Test client',
      redirect_uris: [KEPT],
      token_endpoint_auth_method: 'none',
    })

    const response = await exchangeCode(server, client, code, pkce, { redirect_uri: DROPPED })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' })
  })
})
