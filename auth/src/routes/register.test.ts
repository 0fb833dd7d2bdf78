import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'

/**
 * Registration bodies as real MCP clients send them, each with the public reports it is built
 * from (issue threads on GitHub, as `owner/repo#number`). No client publishes its whole body:
 * fields no source shows are left out.
 */
const realClients: Record<string, Record<string, unknown>> = {
  // anthropics/claude-code#30511 (the registration echoed back), anthropics/claude-ai-mcp#1043
  // (asks client_secret_post), #124 (scope=claudeai); callbacks: RevenueCat/ai-toolkit#58.
  'Claude (claude.ai and claude.com callbacks, client_secret_post)': {
    client_name: 'Claude',
    redirect_uris: [
      'https://claude.ai/api/mcp/auth_callback',
      'https://claude.com/api/mcp/auth_callback',
    ],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'claudeai',
  },
  // makeplane/plane-mcp-server#165, BasedHardware/omi#8824, kunickiaj/codemem#1286.
  'ChatGPT (legacy and per-connector callbacks)': {
    client_name: 'ChatGPT',
    redirect_uris: [
      'https://chatgpt.com/connector_platform_oauth_redirect',
      'https://chatgpt.com/connector/oauth/c0nn3ct0r-1d',
    ],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  // microsoft/vscode#278512 and #282472 (redirects), #252892 (resource and scope).
  'VS Code (web redirect and loopback)': {
    client_name: 'Visual Studio Code',
    redirect_uris: [
      'https://insiders.vscode.dev/redirect',
      'https://vscode.dev/redirect',
      'http://127.0.0.1/',
      'http://127.0.0.1:33418/',
    ],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
  },
  // modelcontextprotocol/inspector#930 and #556.
  'MCP Inspector (localhost callbacks)': {
    client_name: 'MCP Inspector',
    client_uri: 'https://github.com/modelcontextprotocol/inspector',
    redirect_uris: [
      'http://localhost:6274/oauth/callback',
      'http://localhost:6274/oauth/callback/debug',
    ],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
  // different-ai/openwork#3059.
  'Cursor (private-use scheme, public client)': {
    client_name: 'Cursor',
    redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
}

describe('POST /register', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ REGISTRATION_RATE_LIMIT: '1000' })
  })
  afterEach(async () => {
    await server.store.clear()
  })
  afterAll(async () => {
    await server.close()
  })

  it.each(Object.entries(realClients))('registers %s', async (_name, body) => {
    const response = await registerClient(server, body)
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const client = (await response.json()) as Record<string, unknown>

    expect(client.client_id).toMatch(/^[\w-]{22}$/)
    expect(client.client_id_issued_at).toBeTypeOf('number')
    expect(client.registration_access_token).toBeTypeOf('string')
    expect(client.registration_client_uri).toBe(
      `http://localhost:8080/register/${client.client_id}`
    )
    expect(client.redirect_uris).toEqual(body.redirect_uris)
    expect(client.client_name).toBe(body.client_name)
    expect(client.grant_types).toEqual(['authorization_code', 'refresh_token'])
    expect(client.response_types).toEqual(['code'])
    expect(Object.values(client)).not.toContain(null)

    if (body.token_endpoint_auth_method === 'none') {
      expect(client).not.toHaveProperty('client_secret')
      expect(client).not.toHaveProperty('client_secret_expires_at')
    } else {
      expect(client.client_secret).toMatch(/^[\w-]{43}$/)
      // The secret goes with the registration, whose end depends on use: no date of its own.
      expect(client.client_secret_expires_at).toBe(0)
    }
  })

  it('stores only hashes of the secret and the registration token', async () => {
    const response = await registerClient(
      server,
      realClients['Claude (claude.ai and claude.com callbacks, client_secret_post)']
    )
    const client = (await response.json()) as Record<string, string>
    const stored = (await server.store.get(`client:${client.client_id}`)) ?? ''
    expect(stored).not.toContain(client.client_secret)
    expect(stored).not.toContain(client.registration_access_token)
    expect(JSON.parse(stored)).toHaveProperty('client_secret_hash')
    expect(JSON.stringify(server.logs)).not.toContain(client.client_secret)
  })

  it('applies CLIENT_UNUSED_LIFETIME as the TTL of a registration not used yet', async () => {
    const response = await registerClient(
      server,
      realClients['Cursor (private-use scheme, public client)']
    )
    const { client_id } = (await response.json()) as { client_id: string }
    const ttl = await server.store.ttl(`client:${client_id}`)
    expect(server.config.ttl.unusedClient).toBe(3600)
    expect(ttl).toBeGreaterThan(server.config.ttl.unusedClient - 5)
    expect(ttl).toBeLessThanOrEqual(server.config.ttl.unusedClient)
  })

  it('defaults grant types to code + refresh and the auth method to client_secret_basic', async () => {
    const response = await registerClient(server, { redirect_uris: ['https://app.example.com/cb'] })
    expect(response.status).toBe(201)
    const client = (await response.json()) as Record<string, unknown>
    expect(client.grant_types).toEqual(['authorization_code', 'refresh_token'])
    expect(client.token_endpoint_auth_method).toBe('client_secret_basic')
    expect(client.client_secret).toBeTypeOf('string')
  })

  it('registers a device-flow client without redirect URIs', async () => {
    const response = await registerClient(server, {
      client_name: 'gateway CLI',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    })
    expect(response.status).toBe(201)
    const client = (await response.json()) as Record<string, unknown>
    expect(client.redirect_uris).toEqual([])
    expect(client.response_types).toEqual([])
  })

  it('drops unknown metadata instead of echoing it', async () => {
    const response = await registerClient(server, {
      redirect_uris: ['https://app.example.com/cb'],
      token_endpoint_auth_method: 'none',
      made_up_field: 'x',
      jwks: { keys: [] },
    })
    const client = (await response.json()) as Record<string, unknown>
    expect(client).not.toHaveProperty('made_up_field')
    expect(client).not.toHaveProperty('jwks')
  })

  it('answers browser clients with CORS', async () => {
    const preflight = await server.request('/register', {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://localhost:6274',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
  })
})
