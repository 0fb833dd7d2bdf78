import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll } from 'vitest'

/**
 * Client ID metadata documents served over real TLS from this machine: a test CA made with
 * openssl when the test starts (in a temp dir), a certificate for localhost, 127.0.0.1 and ::1
 * signed by it, and an https server whose answers each test sets per path. A gateway process
 * trusts the CA through `NODE_EXTRA_CA_CERTS` (and fetches from loopback only with
 * `CIMD_ALLOW_LOOPBACK=true`); an in-process test trusts it with `trustInThisProcess()`.
 */
export interface TestCertificates {
  readonly dir: string
  /** PEM file of the test CA, for `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string
  readonly caPem: string
  readonly keyPem: string
  readonly certPem: string
  /** Adds the test CA to this process's default trust store (the in-process twin of the above). */
  trustInThisProcess(): void
  remove(): Promise<void>
}

const run = promisify(execFile)

export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'cimd-ca-'))
  const file = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => run('/usr/bin/openssl', args, { cwd: dir })
  await openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-days', '2', '-subj', '/CN=Gateway test CA', '-keyout', file('ca.key')],
    ...['-out', file('ca.pem'), '-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign']
  )
  await openssl(
    ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-subj', '/CN=localhost', '-keyout', file('server.key'), '-out', file('server.csr')]
  )
  await writeFile(
    file('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n'
  )
  await openssl(
    ...['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey'],
    ...[file('ca.key'), '-CAcreateserial', '-days', '2', '-out', file('server.pem')],
    ...['-extfile', file('server.ext')]
  )
  const [caPem, keyPem, certPem] = await Promise.all(
    ['ca.pem', 'server.key', 'server.pem'].map((name) => readFile(file(name), 'utf8'))
  )
  return {
    dir,
    caFile: file('ca.pem'),
    caPem: caPem as string,
    keyPem: keyPem as string,
    certPem: certPem as string,
    trustInThisProcess() {
      setDefaultCACertificates([...getCACertificates('default'), caPem as string])
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

/** What the server answers on a path; `body` objects are sent as JSON. */
export interface DocumentAnswer {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
  /** Sends the headers, then nothing for this long (a slow or stalled document). */
  readonly stallMs?: number
}

export interface MetadataDocumentServer {
  /** `https://localhost:<port>` */
  readonly origin: string
  readonly port: number
  /** `origin` + `path`: the client_id of the document served at `path`. */
  url(path: string): string
  /** Sets what `path` answers; a document whose client_id is its own URL by default. */
  serve(path: string, answer: DocumentAnswer): void
  /** Paths requested, oldest first. */
  readonly requests: string[]
  close(): Promise<void>
}

export async function startMetadataDocumentServer(
  certificates: TestCertificates
): Promise<MetadataDocumentServer> {
  const answers = new Map<string, DocumentAnswer>()
  const requests: string[] = []
  const server: Server = createServer(
    { key: certificates.keyPem, cert: certificates.certPem },
    (request, response) => {
      const path = new URL(request.url ?? '/', 'https://localhost').pathname
      requests.push(path)
      const answer = answers.get(path)
      if (!answer) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found')
        return
      }
      const body =
        typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? null)
      response.writeHead(answer.status ?? 200, {
        'Content-Type': 'application/json',
        ...answer.headers,
      })
      if (answer.stallMs) {
        response.write(body.slice(0, 1))
        setTimeout(() => response.end(body.slice(1)), answer.stallMs).unref()
        return
      }
      response.end(body)
    }
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `https://localhost:${port}`
  return {
    origin,
    port,
    url: (path) => `${origin}${path}`,
    serve: (path, answer) => answers.set(path, answer),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * For one describe block: a test CA trusted in this process and a document server signed by it,
 * handed to `use` once started, both removed afterwards.
 */
export function useMetadataDocumentServer(use: (documents: MetadataDocumentServer) => void): void {
  let certificates: TestCertificates | undefined
  let documents: MetadataDocumentServer | undefined
  beforeAll(async () => {
    certificates = await createTestCertificates()
    certificates.trustInThisProcess()
    documents = await startMetadataDocumentServer(certificates)
    use(documents)
  })
  afterAll(async () => {
    await documents?.close()
    await certificates?.remove()
  })
}
