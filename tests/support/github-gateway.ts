import { type FakeGitHub, startFakeGitHub } from './fake-github.ts'
import { type GatewayProcess, startGatewayProcess } from './gateway-process.ts'
import { ALICE, type RegisteredClient } from './oauth-flow.ts'

/** The real gateway process signing people in through a fake GitHub where alice is signed in. */
export interface GitHubGateway {
  readonly gateway: GatewayProcess
  readonly github: FakeGitHub
  /** Registers a client over HTTP (RFC 7591); `metadata` overrides the defaults. */
  register(metadata: Record<string, unknown>): Promise<RegisteredClient>
  stop(): Promise<void>
}

export async function startGitHubGateway(env: Record<string, string> = {}): Promise<GitHubGateway> {
  const github = await startFakeGitHub({ users: [ALICE] })
  const gateway = await startGatewayProcess({
    ...github.env,
    ALLOWED_GITHUB_USERS: 'alice',
    ...env,
  }).catch(async (error: unknown) => {
    await github.close()
    throw error
  })
  // The OAuth App's callback is the gateway's, as on github.com.
  github.setCallbackUrl(`${gateway.url}/callback`)
  return {
    gateway,
    github,
    async register(metadata) {
      const response = await fetch(`${gateway.url}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_name: 'Test client', ...metadata }),
      })
      if (response.status !== 201) throw new Error(`registration failed: ${await response.text()}`)
      return (await response.json()) as RegisteredClient
    },
    async stop() {
      await gateway.stop()
      await github.close()
    },
  }
}
