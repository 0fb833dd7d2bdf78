import { auth } from '@modelcontextprotocol/sdk/client/auth.js'
import { afterAll, beforeAll, expect } from 'vitest'
import { type FakeGitHub, type FakeGitHubUserInput, startFakeGitHub } from './fake-github.ts'
import { freePort } from './free-port.ts'
import { type GatewayProcess, startGatewayProcess } from './gateway-process.ts'
import { HeadlessOAuthProvider } from './sdk-oauth-provider.ts'

/**
 * A real gateway process signing users in at a fake GitHub whose OAuth App has the gateway's
 * callback registered (so the port is chosen before either starts).
 */
export async function startGatewayWithGitHub(
  users: FakeGitHubUserInput[],
  env: Record<string, string>
): Promise<{ github: FakeGitHub; gateway: GatewayProcess }> {
  const port = await freePort()
  const github = await startFakeGitHub({ callbackUrl: `http://localhost:${port}/callback`, users })
  try {
    const gateway = await startGatewayProcess({ ...github.env, PORT: String(port), ...env })
    return { github, gateway }
  } catch (error) {
    await github.close()
    throw error
  }
}

export const OCTOCAT: FakeGitHubUserInput = {
  id: 4242,
  login: 'octocat',
  name: 'The Octocat',
  email: 'octocat@example.com',
}

/**
 * Registers the hooks of a file that needs the real gateway signing people in at the fake GitHub
 * (OCTOCAT allowed); `ready` receives both once they run, and they are stopped after the file.
 */
export function useGatewayWithGitHub(
  ready: (fixture: { github: FakeGitHub; gateway: GatewayProcess }) => void,
  env: Record<string, string> = { ALLOWED_GITHUB_USERS: 'octocat' }
): void {
  let fixture: { github: FakeGitHub; gateway: GatewayProcess } | undefined
  beforeAll(async () => {
    fixture = await startGatewayWithGitHub([OCTOCAT], env)
    ready(fixture)
  })
  afterAll(async () => {
    await fixture?.gateway.stop()
    await fixture?.github.close()
  })
}

/** `/verify` on the gateway as the edge asks it for a request to the echo service. */
export function verifyAtGateway(gateway: GatewayProcess, accessToken: string): Promise<Response> {
  return fetch(`${gateway.url}/verify`, {
    headers: {
      Authorization: `Bearer ${accessToken}`,
      'X-Forwarded-Proto': 'http',
      'X-Forwarded-Host': `localhost:${gateway.port}`,
      'X-Forwarded-Uri': '/echo/mcp',
      'X-Forwarded-Method': 'POST',
    },
  })
}

export interface SignedInClient {
  readonly client: { client_id: string; client_secret: string }
  readonly tokens: { access_token: string; refresh_token: string }
}

/** A new client registers and the user signs in at the fake GitHub, through the SDK's own flow. */
export async function signInThroughSdk(gateway: GatewayProcess): Promise<SignedInClient> {
  const resource = new URL(`${gateway.url}/echo/mcp`)
  const provider = new HeadlessOAuthProvider({ redirectUrl: 'http://127.0.0.1:43125/callback' })
  expect(await auth(provider, { serverUrl: resource })).toBe('REDIRECT')
  expect(await auth(provider, { serverUrl: resource, authorizationCode: provider.code() })).toBe(
    'AUTHORIZED'
  )
  const client = provider.clientInformation() as { client_id: string; client_secret: string }
  const tokens = provider.savedTokens as { access_token: string; refresh_token: string }
  return { client: { client_id: client.client_id, client_secret: client.client_secret }, tokens }
}
