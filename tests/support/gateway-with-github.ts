import { afterAll, beforeAll } from 'vitest'
import { type FakeGitHub, type FakeGitHubUserInput, startFakeGitHub } from './fake-github.ts'
import { freePort } from './free-port.ts'
import { type GatewayProcess, startGatewayProcess } from './gateway-process.ts'

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
