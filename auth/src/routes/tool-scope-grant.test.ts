import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  exchangeCode,
  obtainCode,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/**
 * A client stepping up, or narrowing a refresh, may ask for the tool's scope alone. The service refuses any token without
 * the scopes it requires, so those are granted with it rather than leaving the client a token it
 * cannot use anywhere.
 */
describe('a tool scope asked for alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tool-scope-grant-'))
  const policyFile = join(dir, 'policy.json')
  writeFileSync(
    policyFile,
    JSON.stringify({ services: { echo: { tools: { whoami: { scopes: ['echo:whoami'] } } } } })
  )
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', MCP_POLICY_FILE: policyFile }, (fixture) => {
    server = fixture.server
  })

  it.each([
    ['echo:whoami', 'mcp echo:whoami'],
    ['echo:whoami mcp offline_access', 'mcp echo:whoami'],
    ['claudeai', 'mcp'],
  ])('scope=%s is granted as %s', async (asked, granted) => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client, undefined, undefined, { scope: asked })
    const response = await exchangeCode(server, client, code, pkce)
    expect(response.status).toBe(200)
    const tokens = (await response.json()) as { access_token: string; scope: string }
    expect(tokens.scope).toBe(granted)
    expect(decodeJwt(tokens.access_token).scope).toBe(granted)
  })

  it.each([
    ['echo:whoami', 'mcp echo:whoami'],
    ['mcp', 'mcp'],
    ['offline_access', 'mcp echo:whoami'],
  ])('a refresh narrowed to scope=%s is granted %s', async (asked, granted) => {
    const client = await registerTestClient(server)
    const { code, pkce } = await obtainCode(server, client, undefined, undefined, {
      scope: 'mcp echo:whoami offline_access',
    })
    const first = (await (await exchangeCode(server, client, code, pkce)).json()) as {
      refresh_token: string
    }
    const response = await tokenRequest(server, client, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
      scope: asked,
    })
    expect(response.status).toBe(200)
    const tokens = (await response.json()) as { access_token: string; scope: string }
    expect(tokens.scope).toBe(granted)
    expect(decodeJwt(tokens.access_token).scope).toBe(granted)
  })
})
