import type { LookupAddress } from 'node:dns'
import { createServer as createHttpServer } from 'node:http'
import { type AddressInfo, createServer as createTcpServer, type LookupFunction } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../tests/support/free-port.ts'
import {
  createTestCertificates,
  type MetadataDocumentServer,
  startMetadataDocumentServer,
  type TestCertificates,
} from '../../../tests/support/metadata-document-server.ts'
import {
  fetchMetadataDocument,
  METADATA_DOCUMENT_MAX_BYTES,
  MetadataDocumentError,
} from './metadata-document.ts'
import { isPermittedAddress } from './public-address.ts'

/** A resolver answering `addresses` for every name, recording what it was asked. */
function fakeResolver(addresses: string[], asked: string[] = []): LookupFunction {
  const resolve = (
    hostname: string,
    _options: unknown,
    callback: (error: Error | null, result: LookupAddress[]) => void
  ) => {
    asked.push(hostname)
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    )
  }
  return resolve as unknown as LookupFunction
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('the fetch was not refused')
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(MetadataDocumentError)
      return error as MetadataDocumentError
    }
  )

describe('which addresses a metadata document may be fetched from', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.7',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.100.100.200',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:a9fe:a9fe',
    '::ffff:0:a9fe:a9fe',
    '::ffff:0:8.8.8.8',
    '0:0:0:0:0:ffff:7f00:1',
    '::127.0.0.1',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    '2001:db8::1',
    '3fff::1',
    'ff02::1',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isPermittedAddress(address, false)).toBe(false)
  })

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '140.82.112.3',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
  ])('permits the public address %s', (address) => {
    expect(isPermittedAddress(address, false)).toBe(true)
  })

  it('with CIMD_ALLOW_LOOPBACK permits loopback, and nothing else that is not public', () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(isPermittedAddress(address, true), address).toBe(true)
    }
    for (const address of ['10.0.0.7', '169.254.169.254', '192.168.1.1', 'fd00::1', '::']) {
      expect(isPermittedAddress(address, true), address).toBe(false)
    }
  })
})

describe('fetching a metadata document, SSRF-guarded', () => {
  const url = new URL('https://documents.example.test/oauth/client.json')

  it.each([
    ['127.0.0.1', ['127.0.0.1']],
    ['10.x', ['10.20.30.40']],
    ['the cloud metadata address', ['169.254.169.254']],
    ['::1', ['::1']],
    ['a private address beside a public one', ['140.82.112.3', '192.168.0.10']],
  ])('refuses a host that resolves to %s, before connecting', async (_, addresses) => {
    const asked: string[] = []
    const error = await refusal(
      fetchMetadataDocument(url, {
        allowLoopback: false,
        lookup: fakeResolver(addresses, asked),
      })
    )
    expect(asked).toEqual(['documents.example.test'])
    expect(error.transient).toBe(false)
    // Where the name led stays in the operator's log: callers cannot map internal names with it.
    expect(error.message).toBe(
      'its host documents.example.test has no public address: documents are fetched from public addresses only'
    )
    expect(error.detail).toMatch(/^resolved to /)
    for (const address of addresses) expect(error.message).not.toContain(address)
  })

  it('refuses a host name that does not exist, and retries one the resolver could not answer', async () => {
    const failing = (code: string) =>
      ((_host: string, _options: unknown, callback: (error: Error) => void) =>
        callback(
          Object.assign(new Error(`getaddrinfo ${code} documents.example.test`), { code })
        )) as unknown as LookupFunction
    const missing = await refusal(
      fetchMetadataDocument(url, { allowLoopback: false, lookup: failing('ENOTFOUND') })
    )
    // Said as a name leading inside is: whether an internal name exists is not told to callers.
    expect(missing).toMatchObject({
      transient: false,
      message:
        'its host documents.example.test has no public address: documents are fetched from public addresses only',
      detail: 'the name does not exist (DNS)',
    })
    const unanswered = await refusal(
      fetchMetadataDocument(url, { allowLoopback: false, lookup: failing('EAI_AGAIN') })
    )
    expect(unanswered).toMatchObject({
      transient: true,
      message: 'its host name could not be resolved',
    })
  })

  it('refuses 10.x and the metadata address even when loopback is allowed', async () => {
    for (const address of ['10.0.0.1', '169.254.169.254']) {
      const error = await refusal(
        fetchMetadataDocument(url, { allowLoopback: true, lookup: fakeResolver([address]) })
      )
      expect(error.detail).toBe(`resolved to ${address}`)
    }
  })

  it('refuses an address in the URL itself without resolving anything', async () => {
    const asked: string[] = []
    for (const literal of [
      'https://127.0.0.1/c.json',
      'https://[::1]/c.json',
      'https://10.0.0.1/c',
    ]) {
      const error = await refusal(
        fetchMetadataDocument(new URL(literal), {
          allowLoopback: false,
          lookup: fakeResolver(['140.82.112.3'], asked),
        })
      )
      expect(error.message).toMatch(/is not a public address/)
    }
    expect(asked).toEqual([])
  })

  it('fetches only https', async () => {
    const error = await refusal(
      fetchMetadataDocument(new URL('http://documents.example.test/c.json'), {
        allowLoopback: true,
      })
    )
    expect(error.message).toBe('it is not an https URL')
  })
})

describe('fetching from a real https server on this machine', () => {
  let certificates: TestCertificates
  let server: MetadataDocumentServer
  beforeAll(async () => {
    certificates = await createTestCertificates()
    certificates.trustInThisProcess()
    server = await startMetadataDocumentServer(certificates)
  })
  afterAll(async () => {
    await server?.close()
    await certificates?.remove()
  })
  const fetchPath = (path: string, options: { timeoutMs?: number } = {}) =>
    fetchMetadataDocument(new URL(server.url(path)), { allowLoopback: true, ...options })

  it('refuses the loopback server without CIMD_ALLOW_LOOPBACK, by name and by address', async () => {
    server.serve('/loopback.json', { body: { client_id: 'x' } })
    const before = server.requests.length
    for (const target of [server.url('/loopback.json'), `https://127.0.0.1:${server.port}/x`]) {
      const error = await refusal(fetchMetadataDocument(new URL(target), { allowLoopback: false }))
      expect(error.message).toMatch(/(is not a|has no) public address/)
    }
    expect(server.requests.length).toBe(before)
  })

  it('reads the document and its cache lifetime', async () => {
    server.serve('/cached.json', {
      body: { client_id: server.url('/cached.json') },
      headers: { 'Cache-Control': 'public, max-age=7200' },
    })
    server.serve('/no-store.json', { body: {}, headers: { 'Cache-Control': 'no-store' } })
    server.serve('/silent.json', {
      body: {},
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    })
    await expect(fetchPath('/cached.json')).resolves.toEqual({
      document: { client_id: server.url('/cached.json') },
      maxAgeSeconds: 7200,
    })
    await expect(fetchPath('/no-store.json')).resolves.toMatchObject({ maxAgeSeconds: 0 })
    await expect(fetchPath('/silent.json')).resolves.toMatchObject({ maxAgeSeconds: undefined })
  })

  it('does not follow a redirect, not even to a loopback address it may fetch from', async () => {
    server.serve('/moved.json', {
      status: 302,
      headers: { Location: `https://127.0.0.1:${server.port}/cached.json` },
      body: '',
    })
    server.serve('/to-metadata.json', {
      status: 307,
      headers: { Location: 'http://169.254.169.254/latest/meta-data/' },
      body: '',
    })
    const before = server.requests.length
    expect((await refusal(fetchPath('/moved.json'))).message).toMatch(
      /redirect \(HTTP 302 to 127\.0\.0\.1:\d+\), which is not followed/
    )
    expect((await refusal(fetchPath('/to-metadata.json'))).message).toMatch(
      /redirect \(HTTP 307 to 169\.254\.169\.254\)/
    )
    expect(server.requests.slice(before)).toEqual(['/moved.json', '/to-metadata.json'])
  })

  it('refuses a document over the size cap, announced or streamed', async () => {
    const big = { client_id: 'x', padding: 'a'.repeat(METADATA_DOCUMENT_MAX_BYTES) }
    server.serve('/big.json', { body: big })
    server.serve('/big-stream.json', { body: big, stallMs: 50 })
    for (const path of ['/big.json', '/big-stream.json']) {
      expect((await refusal(fetchPath(path))).message).toBe(
        `it is larger than ${METADATA_DOCUMENT_MAX_BYTES} bytes, the most this gateway reads`
      )
    }
  })

  it('gives up on a slow document at the deadline', async () => {
    server.serve('/slow.json', { body: { client_id: 'x' }, stallMs: 5_000 })
    const started = Date.now()
    const error = await refusal(fetchPath('/slow.json', { timeoutMs: 300 }))
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(error).toMatchObject({
      transient: true,
      message: 'it did not answer completely within 0.3 s',
    })
  })

  it('tells the caller one thing whatever stopped the connection, and its log the rest', async () => {
    // A closed port, a port speaking plain HTTP, a port that accepts and says nothing, and an
    // untrusted certificate: told apart, they would map any public host's ports.
    const closedPort = await freePort()
    const plain = createHttpServer((_request, response) => response.end('{}'))
    const silent = createTcpServer(() => {})
    const untrusted = await createTestCertificates()
    const stranger = await startMetadataDocumentServer(untrusted)
    await Promise.all(
      [plain, silent].map(
        (listener) => new Promise<void>((up) => listener.listen(0, '127.0.0.1', up))
      )
    )
    const portOf = (listener: { address(): unknown }) => (listener.address() as AddressInfo).port
    try {
      const started = Date.now()
      const refusals = await Promise.all(
        [closedPort, portOf(plain), portOf(silent), stranger.port].map(async (port) => {
          const error = await refusal(
            fetchMetadataDocument(new URL(`https://127.0.0.1:${port}/c.json`), {
              allowLoopback: true,
              timeoutMs: 500,
            })
          )
          return Object.assign(error, { after: Date.now() - started })
        })
      )
      for (const error of refusals) {
        expect(error).toMatchObject({
          transient: true,
          message: 'no trusted https connection to its host could be made',
        })
        // Nor does the time taken tell them apart: each is told at the deadline.
        expect(error.after).toBeGreaterThanOrEqual(490)
      }
      expect(refusals.map((error) => error.detail)).toEqual([
        'ECONNREFUSED',
        expect.stringMatching(/^(EPROTO|ERR_SSL_\w+)$/),
        'no TLS session within 0.5 s',
        expect.stringMatching(/^its TLS certificate is not trusted/),
      ])
    } finally {
      plain.close()
      silent.close()
      await stranger.close()
      await untrusted.remove()
    }
  })

  it('takes JSON only, and only a 200', async () => {
    server.serve('/page.html', { body: '<html></html>', headers: { 'Content-Type': 'text/html' } })
    server.serve('/broken.json', { body: '{"client_id":' })
    server.serve('/down.json', { status: 503, body: {} })
    expect((await refusal(fetchPath('/page.html'))).message).toBe(
      'it is not JSON (Content-Type: text/html)'
    )
    // A header's sentence is not repeated on the gateway's page.
    server.serve('/said.html', {
      body: 'x',
      headers: { 'Content-Type': 'text/plain; Your account is locked. Call +1 555 0100' },
    })
    expect((await refusal(fetchPath('/said.html'))).message).toBe(
      'it is not JSON (Content-Type: text/plain)'
    )
    server.serve('/said-as-type.html', {
      body: 'x',
      headers: { 'Content-Type': 'Your-account-is-locked.-Call-us' },
    })
    expect((await refusal(fetchPath('/said-as-type.html'))).message).toBe(
      'it is not JSON (Content-Type: not a media type (not shown))'
    )
    server.serve('/said-as-subtype.html', {
      body: 'x',
      headers: { 'Content-Type': 'text/Your_account_is_locked_call_555' },
    })
    expect((await refusal(fetchPath('/said-as-subtype.html'))).message).toBe(
      'it is not JSON (Content-Type: not a media type (not shown))'
    )
    expect((await refusal(fetchPath('/broken.json'))).message).toBe('it is not valid JSON')
    expect(await refusal(fetchPath('/down.json'))).toMatchObject({
      transient: true,
      message: 'it answered HTTP 503',
    })
    expect(await refusal(fetchPath('/absent.json'))).toMatchObject({
      transient: false,
      message: 'it answered HTTP 404',
    })
  })
})
