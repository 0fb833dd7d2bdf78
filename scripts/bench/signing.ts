import { generateKeyPair, jwtVerify, SignJWT } from 'jose'

export interface SigningBenchRow {
  readonly alg: string
  /** CPU time per operation, milliseconds (median of the rounds). */
  readonly signMs: number
  readonly verifyMs: number
}

/**
 * What one access token costs to sign and to verify with each algorithm the gateway can use
 * (jose on Node's WebCrypto, claims the size of a real token): the token endpoint signs one per
 * request, `/verify` verifies each token once (then serves it from its cache). Sequential, so the
 * figure is CPU per token on one core; the median of `rounds` rounds of `count` operations.
 */
export async function benchSigning(count = 400, rounds = 5): Promise<SigningBenchRow[]> {
  const rows: SigningBenchRow[] = []
  // EdDSA (Ed25519) is measured as the candidate it was: the gateway's keys are ES256 or RS256.
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const { privateKey, publicKey } = await generateKeyPair(alg)
    const claims = {
      iss: 'https://auth.example.com',
      sub: '1001',
      aud: 'https://mcp.example.com/echo/mcp',
      client_id: 'wJ3k0sQb8yVd5pLr2mTn6A',
      scope: 'mcp offline_access',
      jti: '2f3c1a4e-9b7d-4c1e-8f6a-0d5b3e7c9a21',
      login: 'octocat',
      email: 'octocat@example.com',
      fam: 'Xq9v3LmN0pRs7TuV1wYz2A',
    }
    const sign = () =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid: 'bench', typ: 'at+jwt' })
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey)
    const token = await sign()
    const signSamples: number[] = []
    const verifySamples: number[] = []
    for (let round = 0; round < rounds; round++) {
      signSamples.push(await perOperation(count, sign))
      verifySamples.push(await perOperation(count, () => jwtVerify(token, publicKey)))
    }
    rows.push({ alg, signMs: median(signSamples), verifyMs: median(verifySamples) })
  }
  const lines = [
    `Access token signing and verification (jose, one core, median of ${rounds} rounds of ${count})`,
    '| alg | sign ms/token | verify ms/token |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.alg} | ${r.signMs.toFixed(3)} | ${r.verifyMs.toFixed(3)} |`),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  return rows
}

/** CPU milliseconds per call (process CPU time, so waiting for the other core's load is not counted). */
async function perOperation(count: number, operation: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) await operation()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000 / count
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

if (import.meta.main) await benchSigning()
