import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import {
  DockerComposeEnvironment,
  type StartedDockerComposeEnvironment,
  Wait,
} from 'testcontainers'
import {
  type FakeGitHub,
  type FakeGitHubUserInput,
  startFakeGitHub,
} from '../support/fake-github.ts'
import {
  COMPOSE_FILES,
  ECHO_RESOURCE,
  HOST_FROM_CONTAINERS,
  ISSUER,
  prepareStackDirectory,
  ROOT,
  type StackFetch,
  stackEnvironment,
  stackFetch,
  writeEnvFile,
} from './compose-stack.ts'

/** The stack up, with its fake GitHub and a client for it. */
export interface RunningStack {
  readonly github: FakeGitHub
  readonly client: StackFetch
  /** The last lines of each container's log. */
  logs(): Promise<string>
  /** `compose down` with the volumes, then the fake GitHub and the files. */
  stop(): Promise<void>
}

/** Containers as testcontainers names them (`<service>-<index>`). */
const CONTAINERS = ['traefik-1', 'auth-1', 'mcp-echo-1', 'redis-1']

/**
 * Builds the images and brings up Traefik and the echo bridge (auth and Redis come along as
 * Traefik's dependencies) from docker-compose.yml and the test override, with a fake GitHub over
 * https on this machine, and waits until Traefik routes the echo service.
 */
export async function startStack(options: {
  users: FakeGitHubUserInput[]
  allowedUsers: string
  startupTimeoutMs: number
}): Promise<RunningStack> {
  const directory = await prepareStackDirectory()
  const { cert, key, ca } = directory.certificates
  let github: FakeGitHub | undefined
  let stack: StartedDockerComposeEnvironment | undefined
  let client: StackFetch | undefined
  const stop = async () => {
    await client?.close()
    await stack?.down({ removeVolumes: true })
    await github?.close()
    await rm(directory.dir, { recursive: true, force: true })
  }
  try {
    // On every interface: containers come in through Docker's host gateway, not loopback.
    github = await startFakeGitHub({
      tls: { cert, key },
      listenHost: '0.0.0.0',
      publicHost: HOST_FROM_CONTAINERS,
      enterprise: true,
      callbackUrl: `${ISSUER}/callback`,
      users: options.users,
    })
    const env = stackEnvironment(directory.dir, github.env, options.allowedUsers)
    await writeEnvFile(directory.envFile, env)
    stack = await new DockerComposeEnvironment(ROOT, COMPOSE_FILES)
      .withBuild()
      .withEnvironmentFile(directory.envFile)
      .withEnvironment(env)
      .withWaitStrategy('redis-1', Wait.forHealthCheck())
      .withWaitStrategy('auth-1', Wait.forHealthCheck())
      .withWaitStrategy('mcp-echo-1', Wait.forHealthCheck())
      .withWaitStrategy('traefik-1', Wait.forListeningPorts())
      .withStartupTimeout(options.startupTimeoutMs)
      .up(['traefik', 'mcp-echo'])
    const traefik = stack.getContainer('traefik-1')
    client = stackFetch({
      ca,
      traefik: { host: traefik.getHost(), port: traefik.getMappedPort(443) },
    })
    await routesLoaded(client)
  } catch (error) {
    const logs = await containerLogs(stack)
    await stop().catch(() => {})
    throw new Error(`the compose stack did not come up: ${reasonOf(error)}\n${logs}`, {
      cause: error,
    })
  }
  const started = stack
  return { github, client, logs: () => containerLogs(started), stop }
}

/** An MCP initialize request without credentials. */
export function mcpPost(): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
  }
}

/** Traefik's file provider loads the routes a moment after the entry point opens. */
async function routesLoaded(client: StackFetch): Promise<void> {
  const deadline = Date.now() + 60_000
  let last = ''
  while (Date.now() < deadline) {
    try {
      const response = await client.fetch(ECHO_RESOURCE, mcpPost())
      if (response.status === 401) return
      last = `status ${response.status}`
    } catch (error) {
      // Until the dynamic files load, Traefik presents its own certificate: the test CA refuses it.
      last = reasonOf(error)
    }
    await sleep(500)
  }
  throw new Error(`Traefik did not route ${ECHO_RESOURCE} to forward-auth in time (${last})`)
}

async function containerLogs(stack: StartedDockerComposeEnvironment | undefined): Promise<string> {
  if (!stack) return '(no containers to show logs of)'
  const run = promisify(execFile)
  const parts: string[] = []
  for (const name of CONTAINERS) {
    try {
      const id = stack.getContainer(name).getId()
      const { stdout, stderr } = await run('docker', ['logs', '--tail', '100', id])
      parts.push(`--- ${name}\n${stdout}${stderr}`)
    } catch (error) {
      parts.push(`--- ${name}: no logs (${reasonOf(error)})`)
    }
  }
  return parts.join('\n')
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message
}
