import { randomBytes, randomUUID } from 'node:crypto'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parse } from 'yaml'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { freePort } from '../support/free-port.ts'
import { type ReplayedImage, ROOT, replayBuild, startImage } from './image-replay.ts'

/**
 * "Works the first time": each Dockerfile's install and start, replayed without a Docker engine
 * (`image-replay.ts`), with the environment docker-compose.yml and a filled-in `.env` give the
 * container. A file missing from a COPY, a lock that `npm ci` refuses, a dependency installed
 * only for development or a start-up check the compose environment fails all show up here.
 */
const BUILD_TIMEOUT = 240_000

const composeText = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8')
const compose = parse(composeText, { merge: true }) as {
  services: Record<
    string,
    { command?: string[]; environment?: Record<string, string>; cap_add?: string[] }
  >
}

/**
 * A `.env` as the README's guide has the operator fill it in (a fake GitHub app: nothing is
 * called at start); any other variable compose requires is a secret from
 * `just generate-all-secrets`, so it gets a random value. That recipe also writes the optional
 * METRICS_TOKEN.
 */
const dotEnv: Record<string, string> = {
  BASE_DOMAIN: 'example.com',
  ACME_EMAIL: 'admin@example.com',
  GITHUB_CLIENT_ID: 'Iv1.replay',
  GITHUB_CLIENT_SECRET: 'replay-secret',
  ALLOWED_GITHUB_USERS: 'octocat',
  METRICS_TOKEN: randomBytes(32).toString('hex'),
}
for (const [, name, op] of composeText.matchAll(/\$\{(\w+)(?::([-?]))?/g))
  if (name && !(name in dotEnv) && op !== '-') dotEnv[name] = randomBytes(32).toString('hex')

/**
 * A compose service's `environment`, with `${VAR}`, `${VAR:-default}`, `${VAR:?message}` filled in
 * from the `.env` above and `more` (lines added to it).
 */
function composeEnvironment(
  service: string,
  more: Record<string, string> = {}
): Record<string, string> {
  const environment = compose.services[service]?.environment ?? {}
  const env = { ...dotEnv, ...more }
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      String(value).replace(
        /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
        (_, name: string, op, rest) => env[name] ?? (op === '-' ? rest : '')
      ),
    ])
  )
}

const nodeMajor = (text: string) => /(\d+)/.exec(text)?.[1]

/** Each image is built once for the whole file. */
const builds = new Map<string, Promise<ReplayedImage>>()
function build(path: string): Promise<ReplayedImage> {
  let built = builds.get(path)
  if (!built) {
    built = replayBuild(path)
    builds.set(path, built)
  }
  return built
}
afterAll(async () => {
  for (const built of builds.values()) await (await built.catch(() => undefined))?.remove()
})

describe.each(['auth/Dockerfile', 'mcp-services/Dockerfile'])('%s', (path) => {
  let image: ReplayedImage
  beforeAll(async () => {
    image = await build(path)
    console.info(`${path}: npm ci took ${image.installMs.join(' + ')} ms`)
  }, BUILD_TIMEOUT)

  it('installs with npm ci from the lock as committed and leaves the lock untouched', async () => {
    expect(image.installMs.length).toBeGreaterThan(0)
    const copied = await readFile(join(image.dir, 'package-lock.json'), 'utf8')
    expect(copied).toBe(await readFile(join(ROOT, 'package-lock.json'), 'utf8'))
  })

  it('runs the Node major the project pins (.node-version and the node dev dependency)', async () => {
    const pinned = (await readFile(join(ROOT, '.node-version'), 'utf8')).trim()
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>
    }
    expect(image.dockerfile.from).toMatch(/^node:\d+/)
    expect(nodeMajor(image.dockerfile.from)).toBe(nodeMajor(pinned))
    expect(nodeMajor(manifest.devDependencies.node ?? '')).toBe(nodeMajor(pinned))
    expect(nodeMajor(process.version)).toBe(nodeMajor(pinned))
  })

  it('listens on the port it exposes, and its healthcheck asks that port', () => {
    const port = image.dockerfile.env.PORT
    expect(image.dockerfile.exposedPorts).toEqual([Number(port)])
    expect(image.dockerfile.healthcheck?.join(' ')).toContain(`http://127.0.0.1:${port}/`)
  })
})

describe('auth/Dockerfile started as compose starts it', () => {
  let image: ReplayedImage
  beforeAll(async () => {
    image = await build('auth/Dockerfile')
  }, BUILD_TIMEOUT)

  it('answers /health, /ready and the metadata, and its healthcheck passes', async () => {
    const environment = composeEnvironment('auth')
    expect(environment.PORT).toBe(image.dockerfile.env.PORT)
    const internalPort = String(await freePort())
    const started = await startImage(image, {
      ...dotEnv,
      ...environment,
      // Redis and the port of this machine instead of the compose network's.
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `image-replay-${randomUUID()}:`,
      PORT: String(await freePort()),
      INTERNAL_PORT: internalPort,
    })
    try {
      const base = `http://127.0.0.1:${started.port}`
      expect((await fetch(`${base}/health`)).status).toBe(200)
      expect((await fetch(`${base}/ready`)).status).toBe(200)
      // Prometheus' target (docs/metrics.md): the internal port, METRICS_TOKEN from .env only.
      const metrics = (secret: string | undefined) =>
        fetch(`http://127.0.0.1:${internalPort}/metrics`, {
          headers: { Authorization: `Bearer ${secret}` },
        })
      expect(environment.METRICS_TOKEN).toBe(dotEnv.METRICS_TOKEN)
      expect((await metrics(dotEnv.METRICS_TOKEN)).status).toBe(200)
      expect((await metrics(environment.INTERNAL_API_SECRET)).status).toBe(401)
      const metadata = (await (
        await fetch(`${base}/.well-known/oauth-authorization-server`)
      ).json()) as { issuer: string }
      expect(metadata.issuer).toBe('https://auth.example.com')
      expect(await started.healthcheck()).toBe(0)
      expect(started.output()).not.toContain(dotEnv.GITHUB_CLIENT_SECRET)
    } finally {
      await started.stop()
    }
  })
})

describe('mcp-services/Dockerfile started as compose starts each service', () => {
  let image: ReplayedImage
  let dataDir: string
  beforeAll(async () => {
    image = await build('mcp-services/Dockerfile')
    dataDir = await composeDataDir('gateway-image-data-')
  }, BUILD_TIMEOUT)
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it.each(serviceCatalog.map((service) => service.name))(
    '%s answers /health and initialize from the installed packages alone',
    async (name) => {
      const container = `mcp-${name}`
      const environment = composeEnvironment(container)
      const started = await startImage(
        image,
        { ...replayable(environment), DATA_DIR: dataDir, PORT: String(await freePort()) },
        compose.services[container]?.command,
        composeCapabilities(container)
      )
      try {
        expect(await started.healthcheck()).toBe(0)
        const answer = await initialize(started.port, {
          Host: `${name}.example.com`,
          ...(environment.BRIDGE_SHARED_SECRET
            ? { 'X-Bridge-Secret': environment.BRIDGE_SHARED_SECRET }
            : {}),
        })
        expect(answer.status, started.output()).toBe(200)
        expect(answer.body).toContain('"serverInfo"')
      } finally {
        await started.stop()
      }
    },
    60_000
  )
})

describe('mcp-services/Dockerfile with METRICS_PORT in .env', () => {
  let image: ReplayedImage
  beforeAll(async () => {
    image = await build('mcp-services/Dockerfile')
  }, BUILD_TIMEOUT)

  it('serves /metrics on METRICS_PORT to METRICS_TOKEN alone (docs/metrics.md)', async () => {
    const metricsPort = String(await freePort())
    const environment = composeEnvironment('mcp-echo', { METRICS_PORT: metricsPort })
    expect(environment.METRICS_PORT).toBe(metricsPort)
    expect(environment.METRICS_TOKEN).toBe(dotEnv.METRICS_TOKEN)
    const dataDir = await composeDataDir('gateway-image-metrics-')
    const started = await startImage(
      image,
      { ...replayable(environment), DATA_DIR: dataDir, PORT: String(await freePort()) },
      compose.services['mcp-echo']?.command,
      composeCapabilities('mcp-echo')
    )
    try {
      const metrics = (secret: string | undefined) =>
        fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
          headers: { Authorization: `Bearer ${secret}` },
        })
      const answer = await metrics(dotEnv.METRICS_TOKEN)
      expect(answer.status, started.output()).toBe(200)
      expect(await answer.text()).toContain('bridge_sessions')
      expect((await metrics(environment.BRIDGE_SHARED_SECRET)).status).toBe(401)
    } finally {
      await started.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 60_000)
})

/**
 * Compose starts a bridge as root and its children as the image's `node` user (CHILD_USER
 * 1000:1000). Replayed the same where the tests run as root; elsewhere this process cannot switch
 * users, so CHILD_USER and CHILD_UID_RANGE are left out (the bridge would refuse to start) and the children run as
 * the bridge does.
 */
const canSwitchUsers = process.getuid?.() === 0

function replayable(environment: Record<string, string>): Record<string, string> {
  if (canSwitchUsers) return environment
  const { CHILD_USER: _, CHILD_UID_RANGE: __, ...rest } = environment
  return rest
}

/** The capabilities compose leaves the container, where this process can drop to them. */
function composeCapabilities(container: string): readonly string[] | undefined {
  return canSwitchUsers ? (compose.services[container]?.cap_add ?? []) : undefined
}

/** A data directory as compose's volume is: owned by the image's `node` user. */
async function composeDataDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  if (canSwitchUsers) await chown(dir, 1000, 1000)
  return dir
}

/** An MCP initialize as Traefik forwards it: the service's public Host and the injected identity. */
function initialize(
  port: number,
  edgeHeaders: Record<string, string>
): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'image-replay', version: '1' },
    },
  })
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        headers: {
          ...edgeHeaders,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'X-User-Id': 'github:1',
          'X-User-Login': 'octocat',
        },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString()
          // The answer comes as one SSE event; the stream may stay open after it.
          if (text.includes('"serverInfo"')) res.destroy()
        })
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }))
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}
