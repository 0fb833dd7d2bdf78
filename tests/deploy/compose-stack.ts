import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Agent, buildConnector, fetch as undiciFetch } from 'undici'
import { parse, stringify } from 'yaml'
import { containerRuntime } from '../proxies/support/traefik.ts'

/**
 * The pieces of tests/deploy/compose-stack.test.ts: the production docker-compose.yml with the
 * test override next to this file, a certificate from a CA made for the run instead of Let's
 * Encrypt, and a fetch that reaches the stack's host names on this machine.
 */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const COMPOSE_FILES = ['docker-compose.yml', 'tests/deploy/compose-stack.override.yml']
export const BASE_DOMAIN = 'gateway.test'
export const ISSUER = `https://auth.${BASE_DOMAIN}`
export const ECHO_RESOURCE = `https://echo.${BASE_DOMAIN}/mcp`
/** The name the containers reach this machine by (`extra_hosts: host-gateway` in the override). */
export const HOST_FROM_CONTAINERS = 'host.docker.internal'
/** Where the override mounts the stack directory's parts (compose-stack.override.yml). */
export const MOUNTS = {
  traefikStatic: '/etc/traefik/traefik.yml',
  traefikDynamic: '/etc/traefik/dynamic',
  traefikTls: '/etc/traefik/test-tls',
  authCa: '/etc/gateway-test/ca.pem',
} as const
/** The dynamic file that hands Traefik the test certificate. */
export const TLS_DYNAMIC_FILE = 'test-tls.yml'

const run = promisify(execFile)

/** A container engine that answers and the compose plugin, or why not. */
export async function composeRuntime(): Promise<{ available: boolean; reason: string }> {
  const engine = await containerRuntime()
  if (!engine.available)
    return { available: false, reason: `no container runtime: ${engine.reason}` }
  try {
    await run('docker', ['compose', 'version'], { timeout: 30_000 })
    return { available: true, reason: '' }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    return { available: false, reason: `\`docker compose\` does not run: ${detail}` }
  }
}

export interface TestCertificates {
  /** The CA that signed `cert` (PEM): clients of the stack trust it and nothing else. */
  readonly ca: string
  /** For `*.gateway.test`, `gateway.test` and the containers' name for this machine (PEM). */
  readonly cert: string
  readonly key: string
}

/** A CA and one server certificate from it, made with openssl in `dir` (RSA: any openssl has it). */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name)
  const openssl = (args: string[]) => run('openssl', args, { timeout: 60_000 })
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Gateway compose stack test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('gateway.key'),
    '-out',
    file('gateway.csr'),
    '-subj',
    `/CN=${BASE_DOMAIN}`,
  ])
  const names = [`*.${BASE_DOMAIN}`, BASE_DOMAIN, HOST_FROM_CONTAINERS]
  await writeFile(
    file('gateway.ext'),
    [
      `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ].join('\n')
  )
  await openssl([
    'x509',
    '-req',
    '-in',
    file('gateway.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-set_serial',
    `0x1${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    file('gateway.ext'),
    '-out',
    file('gateway.crt'),
  ])
  const [ca, cert, key] = await Promise.all(
    ['ca.pem', 'gateway.crt', 'gateway.key'].map((name) => readFile(file(name), 'utf8'))
  )
  return { ca: ca ?? '', cert: cert ?? '', key: key ?? '' }
}

interface TraefikStatic {
  entryPoints?: Record<string, { http?: { tls?: Record<string, unknown> } }>
  certificatesResolvers?: unknown
}

/**
 * traefik/traefik.yml as the test runs it: the same file without the Let's Encrypt resolver, so
 * websecure serves the default certificate of the TLS store (the test certificate).
 */
export function traefikStaticForTest(text: string): string {
  const config = parse(text) as TraefikStatic
  const tls = config.entryPoints?.websecure?.http?.tls
  if (!tls) throw new Error('traefik/traefik.yml: the websecure entry point has no http.tls')
  delete tls.certResolver
  delete config.certificatesResolvers
  return `# traefik/traefik.yml without ACME, rendered by tests/deploy/compose-stack.ts\n${stringify(config)}`
}

/** The dynamic file that makes the test certificate Traefik's default one. */
export function tlsDynamicConfig(): string {
  return stringify({
    tls: {
      stores: {
        default: {
          defaultCertificate: {
            certFile: `${MOUNTS.traefikTls}/gateway.crt`,
            keyFile: `${MOUNTS.traefikTls}/gateway.key`,
          },
        },
      },
    },
  })
}

/** The GitHub settings of the auth container (a FakeGitHub's `env`). */
export interface GitHubEnvironment {
  readonly GITHUB_BASE_URL: string
  readonly GITHUB_API_URL: string
  readonly GITHUB_CLIENT_ID: string
  readonly GITHUB_CLIENT_SECRET: string
}

/** Every variable docker-compose.yml and the override interpolate, as the test sets them. */
export function stackEnvironment(
  dir: string,
  github: GitHubEnvironment,
  allowedUsers: string
): Record<string, string> {
  return {
    COMPOSE_STACK_TEST_DIR: dir,
    BASE_DOMAIN,
    AUTH_ISSUER: ISSUER,
    ACME_EMAIL: `admin@${BASE_DOMAIN}`,
    REDIS_PASSWORD: randomBytes(24).toString('hex'),
    BRIDGE_SHARED_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_API_SECRET: randomBytes(32).toString('hex'),
    ALLOWED_GITHUB_USERS: allowedUsers,
    LOG_LEVEL: 'info',
    GITHUB_BASE_URL: github.GITHUB_BASE_URL,
    GITHUB_API_URL: github.GITHUB_API_URL,
    GITHUB_CLIENT_ID: github.GITHUB_CLIENT_ID,
    GITHUB_CLIENT_SECRET: github.GITHUB_CLIENT_SECRET,
  }
}

export interface StackDirectory {
  readonly dir: string
  readonly certificates: TestCertificates
  /** Given to compose with `--env-file`, so the repository's own `.env` plays no part. */
  readonly envFile: string
}

/** A temporary directory with the CA, the certificate and the Traefik files the override mounts. */
export async function prepareStackDirectory(): Promise<StackDirectory> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-compose-'))
  const pki = join(dir, 'pki')
  await mkdir(pki)
  const certificates = await makeTestCertificates(pki)
  // Containers run as other users (auth as `node`): what they read is world-readable.
  await mkdir(join(dir, 'traefik-tls'))
  await writeFile(join(dir, 'traefik-tls/gateway.crt'), certificates.cert)
  await writeFile(join(dir, 'traefik-tls/gateway.key'), certificates.key)
  await mkdir(join(dir, 'ca'))
  await writeFile(join(dir, 'ca/ca.pem'), certificates.ca)
  await writeFile(
    join(dir, 'traefik.yml'),
    traefikStaticForTest(await readFile(join(ROOT, 'traefik/traefik.yml'), 'utf8'))
  )
  // The repository's dynamic files as they are, plus the default certificate.
  await mkdir(join(dir, 'dynamic'))
  for (const name of await readdir(join(ROOT, 'traefik/dynamic'))) {
    await copyFile(join(ROOT, 'traefik/dynamic', name), join(dir, 'dynamic', name))
  }
  await writeFile(join(dir, 'dynamic', TLS_DYNAMIC_FILE), tlsDynamicConfig())
  for (const sub of ['', 'traefik-tls', 'ca', 'dynamic']) await chmod(join(dir, sub), 0o755)
  for (const file of [
    'traefik-tls/gateway.crt',
    'traefik-tls/gateway.key',
    'ca/ca.pem',
    'traefik.yml',
    ...(await readdir(join(dir, 'dynamic'))).map((name) => `dynamic/${name}`),
  ]) {
    await chmod(join(dir, file), 0o644)
  }
  return { dir, certificates, envFile: join(dir, 'stack.env') }
}

/** Writes the compose variables for `--env-file` (single quotes: taken literally). */
export async function writeEnvFile(path: string, env: Record<string, string>): Promise<void> {
  const lines = Object.entries(env).map(([name, value]) => {
    if (/['\n]/.test(value)) throw new Error(`${name}: cannot be written to an env file`)
    return `${name}='${value}'`
  })
  await writeFile(path, `${lines.join('\n')}\n`)
}

/** Where a connection for a host name really goes. */
export interface Endpoint {
  readonly host: string
  readonly port: number
}

export interface StackFetch {
  /** fetch as a client on the internet would, with DNS for the stack's names and the test CA. */
  readonly fetch: typeof globalThis.fetch
  close(): Promise<void>
}

/**
 * A fetch for the stack: `*.gateway.test` goes to Traefik's published port, the containers' name
 * for this machine to this machine (the fake GitHub, same port), with the real host name in the
 * URL, the Host header and SNI; TLS is checked against the test CA only. Any other host is
 * refused, so nothing leaves for the internet by mistake.
 */
export function stackFetch(options: { ca: string; traefik: Endpoint }): StackFetch {
  // HTTP/1.1 like the rest of the suites (undici 8 would otherwise offer h2 to Traefik).
  const connect = buildConnector({ ca: options.ca, allowH2: false })
  const endpoint = (hostname: string, port: number): Endpoint | undefined => {
    if (hostname === BASE_DOMAIN || hostname.endsWith(`.${BASE_DOMAIN}`)) return options.traefik
    if (hostname === HOST_FROM_CONTAINERS) return { host: '127.0.0.1', port }
    return undefined
  }
  const agent = new Agent({
    allowH2: false,
    connect: (target, callback) => {
      const to = endpoint(target.hostname, Number(target.port || 443))
      if (!to) {
        callback(new Error(`the stack's fetch does not reach ${target.hostname}`), null)
        return
      }
      connect(
        { ...target, hostname: to.host, port: String(to.port), servername: target.hostname },
        callback
      )
    },
  })
  const fetchThrough = (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input)
    const headers = Object.fromEntries(new Headers(init?.headers).entries())
    return undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      headers,
      dispatcher: agent,
    }) as unknown as Promise<Response>
  }
  return { fetch: fetchThrough as typeof globalThis.fetch, close: () => agent.close() }
}
