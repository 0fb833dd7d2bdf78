import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { rootCertificates, type TLSSocket } from 'node:tls'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../auth/src/config.ts'
import { protectedResourceMetadataUrl } from '../../auth/src/oauth/resource.ts'
import { startFakeGitHub } from '../support/fake-github.ts'
import { OCTOCAT } from '../support/gateway-with-github.ts'
import { HeadlessBrowser } from '../support/headless-browser.ts'
import {
  interpolate,
  mergeCompose,
  parseComposeFile,
  parseOverrideFile,
  requiredVariables,
  volumeTarget,
} from './compose-merge.ts'
import {
  COMPOSE_FILES,
  composeRuntime,
  ECHO_RESOURCE,
  HOST_FROM_CONTAINERS,
  ISSUER,
  MOUNTS,
  prepareStackDirectory,
  ROOT,
  type StackDirectory,
  stackEnvironment,
  stackFetch,
  TLS_DYNAMIC_FILE,
  traefikStaticForTest,
} from './compose-stack.ts'
import { mcpPost, type RunningStack, startStack } from './compose-stack-run.ts'

/**
 * The production stack as docker-compose.yml builds it (Traefik, auth, Redis, the echo bridge),
 * with tests/deploy/compose-stack.override.yml for what a test machine lacks (DNS, Let's Encrypt,
 * GitHub): one OAuth + MCP round trip through the real Traefik. Without a Docker engine and
 * the compose plugin it is skipped; the checks of the override below run everywhere.
 */
const runtime = await composeRuntime()
if (!runtime.available) console.info(`Compose stack suite skipped: ${runtime.reason}`)
const skipped = runtime.available ? '' : ` [skipped: ${runtime.reason}]`

/** Building both images from nothing takes minutes; starting the stack about a minute more. */
const BUILD_AND_START_TIMEOUT = 30 * 60_000
const STARTUP_TIMEOUT = 180_000
/** A web client's redirect: the headless browser stops there, nothing fetches it. */
const REDIRECT_URI = 'https://client.example.com/callback'
const ALLOWED_USERS = `id:${OCTOCAT.id}`

const read = (path: string) => readFile(join(ROOT, path), 'utf8')
type Service = {
  ports?: string[]
  volumes?: string[]
  command?: string[]
  environment?: Record<string, string>
  extra_hosts?: string[]
  env_file?: unknown
  image?: string
}
type Merged = { services: Record<string, Service>; networks: Record<string, unknown> }

describe('the compose stack test override (no engine needed)', () => {
  let baseText: string
  let overrideText: string
  let directory: StackDirectory
  let env: Record<string, string>
  let merged: Merged
  const github = {
    GITHUB_BASE_URL: `https://${HOST_FROM_CONTAINERS}:4443`,
    GITHUB_API_URL: `https://${HOST_FROM_CONTAINERS}:4443/api/v3`,
    GITHUB_CLIENT_ID: 'Ov23li-static-check',
    GITHUB_CLIENT_SECRET: 'static-check-secret',
  }
  beforeAll(async () => {
    baseText = await read(COMPOSE_FILES[0] ?? '')
    overrideText = await read(COMPOSE_FILES[1] ?? '')
    directory = await prepareStackDirectory()
    env = stackEnvironment(directory.dir, github, ALLOWED_USERS)
    const override = parseOverrideFile(overrideText)
    merged = interpolate(mergeCompose(parseComposeFile(baseText), override.value), env) as Merged
  }, 60_000)
  afterAll(async () => {
    if (directory) await rm(directory.dir, { recursive: true, force: true })
  })
  const mounts = (service: string) =>
    new Map((merged.services[service]?.volumes ?? []).map((v) => [volumeTarget(v), v]))

  it('parses, and every variable compose requires is set by the test', () => {
    const override = parseOverrideFile(overrideText)
    expect(override.errors).toEqual([])
    expect(override.warnings).toEqual([])
    const required = requiredVariables(baseText + overrideText)
    expect(required).toEqual(expect.arrayContaining(['BASE_DOMAIN', 'COMPOSE_STACK_TEST_DIR']))
    for (const name of required) expect(env[name], name).toMatch(/\S/)
  })

  it('publishes websecure alone, on a random host port', () => {
    expect(merged.services.traefik?.ports).toEqual(['443'])
  })

  it('runs Traefik on the repository’s files with the test certificate, without ACME', async () => {
    const traefik = mounts('traefik')
    expect(traefik.get(MOUNTS.traefikStatic)).toBe(
      `${directory.dir}/traefik.yml:${MOUNTS.traefikStatic}:ro`
    )
    expect(traefik.get(MOUNTS.traefikDynamic)).toBe(
      `${directory.dir}/dynamic:${MOUNTS.traefikDynamic}:ro`
    )
    expect(traefik.get(MOUNTS.traefikTls)).toBe(
      `${directory.dir}/traefik-tls:${MOUNTS.traefikTls}:ro`
    )
    // docker-compose.yml's own start: render the static file it is given, then run Traefik.
    expect(merged.services.traefik?.command?.join(' ')).toContain(MOUNTS.traefikStatic)

    const rendered = parse(await readFile(join(directory.dir, 'traefik.yml'), 'utf8'))
    const repository = parse(await read('traefik/traefik.yml'))
    expect(rendered.entryPoints.websecure.http.tls).toEqual({})
    expect(rendered.certificatesResolvers).toBeUndefined()
    delete repository.entryPoints.websecure.http.tls.certResolver
    delete repository.certificatesResolvers
    expect(rendered).toEqual(repository)
    expect(traefikStaticForTest(await read('traefik/traefik.yml'))).not.toMatch(
      /certResolver|letsencrypt/i
    )

    const dynamic = (await readdir(join(directory.dir, 'dynamic'))).sort()
    const own = (await readdir(join(ROOT, 'traefik/dynamic'))).sort()
    expect(dynamic).toEqual([...own, TLS_DYNAMIC_FILE].sort())
    const tls = parse(await readFile(join(directory.dir, 'dynamic', TLS_DYNAMIC_FILE), 'utf8'))
    const certificate = tls.tls.stores.default.defaultCertificate
    for (const path of [certificate.certFile, certificate.keyFile]) {
      expect(path.startsWith(`${MOUNTS.traefikTls}/`), path).toBe(true)
      const onHost = join(directory.dir, 'traefik-tls', path.slice(MOUNTS.traefikTls.length))
      expect(await readFile(onHost, 'utf8')).toMatch(/^-----BEGIN /)
    }
  })

  it('points auth at the fake GitHub over https, trusting the test CA, and nothing else', () => {
    const auth = merged.services.auth
    expect(auth?.extra_hosts).toContain(`${HOST_FROM_CONTAINERS}:host-gateway`)
    expect(auth?.env_file).toBeUndefined()
    expect(auth?.environment?.NODE_EXTRA_CA_CERTS).toBe(MOUNTS.authCa)
    expect(mounts('auth').get(MOUNTS.authCa)).toBe(`${directory.dir}/ca/ca.pem:${MOUNTS.authCa}:ro`)
    expect(auth?.image).toBe('mcp-oauth-gateway-test/auth')
    expect(merged.services['mcp-echo']?.image).toBe('mcp-oauth-gateway-test/mcp-services')

    // The configuration the auth container starts with is accepted as production.
    const config = loadConfig({ ...auth?.environment })
    expect(config.production).toBe(true)
    expect(config.issuer).toBe(ISSUER)
    expect(config.github).toMatchObject({
      baseUrl: github.GITHUB_BASE_URL,
      apiUrl: github.GITHUB_API_URL,
      clientId: github.GITHUB_CLIENT_ID,
    })
    expect(config.protectedResources.map((r) => r.resource)).toContain(ECHO_RESOURCE)
    expect(merged.services['mcp-echo']?.environment?.ALLOWED_HOSTS).toBe(
      new URL(ECHO_RESOURCE).hostname
    )
    // Docker picks the edge subnet, so no other deployment on the machine is in the way.
    expect(merged.networks.edge).toEqual({})
  })

  it('reaches the stack’s names and the fake GitHub over TLS from the test CA only', async () => {
    const { ca, cert, key } = directory.certificates
    const standIn = createServer({ cert, key }, (request, response) => {
      const socket = request.socket as TLSSocket
      response.end(JSON.stringify({ host: request.headers.host, sni: socket.servername }))
    })
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve))
    const fake = await startFakeGitHub({
      tls: { cert, key },
      publicHost: HOST_FROM_CONTAINERS,
      enterprise: true,
      callbackUrl: `${ISSUER}/callback`,
      users: [OCTOCAT],
    })
    const traefik = { host: '127.0.0.1', port: (standIn.address() as AddressInfo).port }
    const client = stackFetch({ ca, traefik })
    const untrusting = stackFetch({ ca: rootCertificates[0] ?? '', traefik })
    try {
      const echo = await client.fetch(ECHO_RESOURCE)
      expect(await echo.json()).toEqual({ host: 'echo.gateway.test', sni: 'echo.gateway.test' })

      expect(fake.baseUrl).toMatch(new RegExp(`^https://${HOST_FROM_CONTAINERS}:\\d+$`))
      const query = new URLSearchParams({ client_id: fake.clientId, state: 's' })
      const authorize = await client.fetch(`${fake.baseUrl}/login/oauth/authorize?${query}`, {
        redirect: 'manual',
      })
      expect(authorize.status).toBe(302)
      expect(authorize.headers.get('location')).toMatch(new RegExp(`^${ISSUER}/callback\\?code=`))

      await expect(untrusting.fetch(ECHO_RESOURCE)).rejects.toThrow()
      await expect(client.fetch('https://example.com/')).rejects.toThrow()
    } finally {
      await Promise.all([client.close(), untrusting.close(), fake.close()])
      await new Promise((resolve) => standIn.close(resolve))
    }
  })
})

describe.skipIf(!runtime.available)(
  `the compose stack behind real Traefik (containers)${skipped}`,
  () => {
    let running: RunningStack | undefined
    beforeAll(async () => {
      running = await startStack({
        users: [OCTOCAT],
        allowedUsers: ALLOWED_USERS,
        startupTimeoutMs: STARTUP_TIMEOUT,
      })
    }, BUILD_AND_START_TIMEOUT)
    afterAll(() => running?.stop(), 300_000)

    it('signs a user in through Traefik and lets the MCP client call whoami as them', {
      timeout: 120_000,
    }, async ({ onTestFailed }) => {
      onTestFailed(async () => console.info(await running?.logs()))
      const fetch = running?.client.fetch ?? globalThis.fetch

      // 1. Discovery: the service refuses, pointing at its resource metadata.
      const refused = await fetch(ECHO_RESOURCE, mcpPost())
      expect(refused.status).toBe(401)
      const metadataUrl = protectedResourceMetadataUrl(ECHO_RESOURCE)
      expect(refused.headers.get('www-authenticate')).toContain(
        `resource_metadata="${metadataUrl}"`
      )
      const resource = (await (await fetch(metadataUrl)).json()) as {
        resource: string
        authorization_servers: string[]
        scopes_supported: string[]
      }
      expect(resource.resource).toBe(ECHO_RESOURCE)
      expect(resource.authorization_servers).toEqual([ISSUER])
      const server = (await (
        await fetch(`${ISSUER}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, string>
      expect(server.issuer).toBe(ISSUER)

      // 2. Registration.
      const registered = await fetch(server.registration_endpoint ?? '', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Compose stack test',
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_post',
        }),
      })
      expect(registered.status).toBe(201)
      const registration = (await registered.json()) as { client_id: string; client_secret: string }

      // 3. Authorization with PKCE: consent at auth, sign-in at the fake GitHub, back to the client.
      const verifier = randomBytes(32).toString('base64url')
      const scope = resource.scopes_supported.join(' ')
      const authorization = new URL(server.authorization_endpoint ?? '')
      authorization.search = new URLSearchParams({
        response_type: 'code',
        client_id: registration.client_id,
        redirect_uri: REDIRECT_URI,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        state: 'compose-state',
        resource: ECHO_RESOURCE,
        scope,
      }).toString()
      const browser = new HeadlessBrowser(() => fetch)
      const consent = await browser.open(authorization.href, REDIRECT_URI)
      expect(consent.response.status, consent.body.slice(0, 500)).toBe(200)
      const landed = new URL((await browser.submitConsent(consent, 'approve', REDIRECT_URI)).url)
      expect(landed.searchParams.get('state')).toBe('compose-state')
      expect(landed.searchParams.get('iss')).toBe(ISSUER)
      const code = landed.searchParams.get('code')
      expect(code, landed.href).toBeTruthy()
      expect(running?.github.requests.some((r) => r.path === '/login/oauth/access_token')).toBe(
        true
      )

      // 4. The code for tokens.
      const exchanged = await fetch(server.token_endpoint ?? '', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: code ?? '',
          code_verifier: verifier,
          redirect_uri: REDIRECT_URI,
          client_id: registration.client_id,
          client_secret: registration.client_secret,
          resource: ECHO_RESOURCE,
        }).toString(),
      })
      expect(exchanged.status).toBe(200)
      const tokens = (await exchanged.json()) as { access_token: string; token_type: string }
      expect(tokens.token_type.toLowerCase()).toBe('bearer')

      // 5. The MCP SDK client with the token: Traefik's forward-auth, the bridge, the echo server.
      const mcp = new Client({ name: 'compose-stack-test', version: '1.0.0' })
      const transport = new StreamableHTTPClientTransport(new URL(ECHO_RESOURCE), {
        fetch,
        requestInit: { headers: { Authorization: `Bearer ${tokens.access_token}` } },
      })
      await mcp.connect(transport)
      try {
        const { tools } = await mcp.listTools()
        expect(tools.map((tool) => tool.name)).toContain('whoami')
        const whoami = await mcp.callTool({ name: 'whoami', arguments: {} })
        expect(whoami.structuredContent).toEqual({
          userId: String(OCTOCAT.id),
          userName: OCTOCAT.login,
          userEmail: OCTOCAT.email,
          clientId: registration.client_id,
          scopes: resource.scopes_supported,
        })
      } finally {
        await transport.terminateSession().catch(() => {})
        await mcp.close()
      }
    })
  }
)
