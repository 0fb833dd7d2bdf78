import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { newPkce } from '../../../tests/support/oauth-flow.ts'

/**
 * `application_type` (OpenID Connect Dynamic Client Registration §2), which MCP 2026-07-28 asks
 * registering clients to send: "web" redirects to https only; "native" may use loopback http on
 * any port, its own scheme, or a claimed https URL; none keeps the rules clients registered
 * under before it.
 */
describe('POST /register with application_type', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer()
  })
  afterAll(() => server.close())

  const register = async (body: Record<string, unknown>) => {
    const response = await registerClient(server, { token_endpoint_auth_method: 'none', ...body })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  it('keeps a web application to https redirects', async () => {
    const web = await register({
      application_type: 'web',
      redirect_uris: ['https://app.example/cb'],
    })
    expect(web.status).toBe(201)
    expect(web.body.application_type).toBe('web')
    for (const uri of ['http://127.0.0.1:8976/callback', 'cursor://anysphere.cursor-mcp/cb']) {
      const refused = await register({ application_type: 'web', redirect_uris: [uri] })
      expect(refused.status).toBe(400)
      expect(refused.body).toMatchObject({ error: 'invalid_redirect_uri' })
      expect(refused.body.error_description).toContain('native')
    }
  })

  it('lets a native application use loopback, its own scheme and a claimed https URL', async () => {
    // Claude Code and Codex send native with a loopback callback; VS Code adds vscode.dev.
    const native = await register({
      application_type: 'native',
      redirect_uris: [
        'http://localhost:3118/callback',
        'http://127.0.0.1:33418/',
        'https://vscode.dev/redirect',
        'cursor://anysphere.cursor-mcp/oauth/callback',
      ],
    })
    expect(native.status).toBe(201)
    expect(native.body.application_type).toBe('native')
    const refused = await register({
      application_type: 'native',
      redirect_uris: ['http://app.example/cb'],
    })
    expect(refused.status).toBe(400)
  })

  it('accepts a loopback redirect of a native application on any port at /authorize', async () => {
    const native = await register({
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
    })
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: String(native.body.client_id),
      redirect_uri: 'http://127.0.0.1:51234/callback',
      code_challenge: newPkce().challenge,
      code_challenge_method: 'S256',
      resource: `${TEST_ISSUER}/echo/mcp`,
    })
    const page = await server.request(`/authorize?${params}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Approve')
  })

  it('keeps the earlier rules for a client that sends no type, and refuses unknown types', async () => {
    const untyped = await register({
      redirect_uris: ['http://127.0.0.1:8976/callback', 'https://app.example/cb'],
    })
    expect(untyped.status).toBe(201)
    expect(untyped.body).not.toHaveProperty('application_type')
    const unknown = await register({
      application_type: 'desktop',
      redirect_uris: ['https://app.example/cb'],
    })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ error: 'invalid_client_metadata' })
  })

  it('applies the type to updates too (RFC 7592)', async () => {
    const web = await register({
      application_type: 'web',
      redirect_uris: ['https://app.example/cb'],
    })
    const update = await server.request(`/register/${String(web.body.client_id)}`, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${String(web.body.registration_access_token)}`,
      },
      body: JSON.stringify({
        client_id: web.body.client_id,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1:8976/callback'],
      }),
    })
    expect(update.status).toBe(400)
    expect(await update.json()).toMatchObject({ error: 'invalid_redirect_uri' })
  })
})
