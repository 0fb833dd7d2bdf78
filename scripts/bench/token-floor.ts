import {
  createHash,
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { Redis } from 'ioredis'
import { randomBytesFromPool } from '../../auth/src/oauth/random-pool.ts'
import { withScripts } from '../../auth/src/store/redis-scripts.ts'
import { createRedisStore } from '../../auth/src/store/redis-store.ts'
import { batchedAppend, coalescedIncrement } from '../../auth/src/store/turn-batches.ts'
import { listening } from './wrk.ts'

const DAY = 86_400
const MONTH = 30 * DAY

/**
 * The token endpoint's own work and nothing else, on a bare `node:http` server: per request the
 * Redis commands the gateway sends (through the store's own scripts, auto-pipelined the same way)
 * with records of the same sizes, the hashes and MACs of the code or refresh token, one ES256
 * signature over claims of an access token's size, and an answer of the gateway's size. No
 * framework, no validation, no metrics, no log line (the audit stream entry is sent, and the count
 * and the entry are batched per event-loop turn as the gateway's are); it answers
 * 200 whatever Redis returns. Beside the bare server it shows how much of the distance is the work
 * itself on this machine, and how much is the gateway's.
 *
 * A code exchange: the rate count, the client, the code's take-and-mark script, the guarded
 * family script (two records, two index sets), the audit entry. A refresh: the rate count, the
 * client, the `MGET` of the token's records, the rotation script, the audit entry (the user's
 * recent re-check is believed in memory, `recent-checks.ts`).
 */
export async function startTokenFloor(
  redisUrl: string,
  port: number,
  prefix = 'floor:'
): Promise<{
  readonly server: Server
  prepare(kind: 'code' | 'refresh', values: readonly string[]): Promise<void>
  close(): Promise<void>
}> {
  const redis = new Redis(redisUrl, { enableAutoPipelining: true })
  const scripts = withScripts(redis)
  // The count and the audit entry are batched per event-loop turn, as the gateway batches them.
  const store = createRedisStore(redisUrl, prefix)
  const count = coalescedIncrement(store)
  const audit = batchedAppend(store, 'audit-trail', 10_000)
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const macKey = createSecretKey(randomBytes(32))
  const client = JSON.stringify({
    client_id: 'r1vstrFrUv-YR2IlbIMiXA',
    client_name: 'bench',
    redirect_uris: ['http://127.0.0.1:9/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope: 'mcp offline_access',
    client_id_issued_at: 1_796_000_000,
    registration_access_token_hash: 'x'.repeat(43),
  })
  await redis.set(`${prefix}client`, client)

  const hash = (value: string) => createHash('sha256').update(value).digest('base64url')
  // The family's writes, three arguments each: the new refresh token, the family, two index sets.
  const familyWrites = (family: string, record: string) => [
    ...['put', family, MONTH, 'put', record, MONTH],
    ...['addToSet', family, MONTH, 'addToSet', family, MONTH],
  ]
  const familyKeys = (family: string, refreshToken: string) => [
    `${prefix}refresh:${hash(refreshToken)}`,
    `${prefix}family:${family}`,
    `${prefix}user-families:7000`,
    `${prefix}client-families:bench`,
  ]

  const familyOf = (presented: string) => presented.split('.', 1)[0] as string
  const recordOf = (family: string) =>
    JSON.stringify({
      familyId: family,
      clientId: 'r1vstrFrUv-YR2IlbIMiXA',
      subject: { id: '7000', login: 'u0' },
      scopes: ['mcp', 'offline_access'],
      resources: ['http://127.0.0.1:9/echo/mcp'],
      codeChallenge: 'x'.repeat(43),
      issuedAt: Date.now(),
    })

  const answer = async (form: URLSearchParams): Promise<string> => {
    const [, clientRecord] = await Promise.all([
      count('rate:token:127.0.0.1', 60),
      redis.get(`${prefix}client`),
    ])
    JSON.parse(clientRecord ?? '{}')
    const presented = String(form.get('code') ?? form.get('refresh_token'))
    // Codes and refresh tokens name their family, as the gateway's do.
    const family = familyOf(presented)
    const secret = randomBytesFromPool(32).toString('base64url')
    const mac = createHmac('sha256', macKey).update(secret).digest().subarray(0, 16)
    const refreshToken = `${family}.${secret}.${mac.toString('base64url')}`
    const record = recordOf(family)
    if (form.get('grant_type') === 'authorization_code') {
      const code = hash(presented)
      const taken = await scripts.gatewayTakeAndWrite(
        2,
        `${prefix}code:${code}`,
        `${prefix}code-redeemed:${code}`,
        'put',
        family,
        MONTH
      )
      if (taken) JSON.parse(String(taken))
      hash(String(form.get('code_verifier')))
      await scripts.gatewayWriteAllUnless(
        5,
        `${prefix}revoked:family:${family}`,
        ...familyKeys(family, refreshToken),
        ...familyWrites(family, record)
      )
    } else {
      const key = hash(presented)
      createHmac('sha256', macKey).update(key).digest()
      const [, familyRecord] = await redis.mget(
        `${prefix}refresh:${key}`,
        `${prefix}family:${family}`,
        `${prefix}revoked:family:${family}`,
        `${prefix}refresh-successor:${key}`
      )
      JSON.parse(familyRecord ?? '{}')
      await scripts.gatewayTakeAndWrite(
        6,
        `${prefix}refresh:${key}`,
        ...familyKeys(family, refreshToken),
        `${prefix}refresh-successor:${key}`,
        ...familyWrites(family, record),
        'put',
        record,
        30
      )
    }
    const claims = {
      iss: 'http://127.0.0.1:25193',
      sub: '7000',
      aud: 'http://127.0.0.1:25193/echo/mcp',
      client_id: 'r1vstrFrUv-YR2IlbIMiXA',
      scope: 'mcp offline_access',
      jti: randomUUID(),
      iat: 1_796_000_000,
      exp: 1_796_003_600,
      login: 'u0',
      email: 'u0@example.com',
      fam: family,
    }
    const input = `${Buffer.from(`{"alg":"ES256","kid":"${'k'.repeat(43)}","typ":"at+jwt"}`).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    const signature = sign('sha256', Buffer.from(input), privateKey)
    await audit(
      JSON.stringify({
        event: 'token.issued',
        at: new Date().toISOString(),
        user: { id: '7000', login: 'u0' },
        client: { id: 'r1vstrFrUv-YR2IlbIMiXA', name: 'bench' },
        address: '127.0.0.1',
        grant_type: form.get('grant_type'),
      })
    )
    return JSON.stringify({
      access_token: `${input}.${signature.toString('base64url')}`,
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: refreshToken,
      scope: 'mcp offline_access',
    })
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      answer(new URLSearchParams(Buffer.concat(chunks).toString())).then(
        (body) => {
          response.writeHead(200, {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            'Cache-Control': 'no-store',
          })
          response.end(body)
        },
        // Counted by the bench (wrk's non-2xx): a floor that fails measures nothing.
        () => {
          response.writeHead(500).end()
        }
      )
    })
  }).listen(port, '127.0.0.1')
  await listening(server)
  /** Stores what the gateway stores for these codes or refresh tokens, so the floor finds them. */
  const prepare = async (kind: 'code' | 'refresh', values: readonly string[]) => {
    const pipeline = redis.pipeline()
    for (const value of values) {
      const family = familyOf(value)
      if (kind === 'code') pipeline.set(`${prefix}code:${hash(value)}`, recordOf(family), 'EX', DAY)
      else {
        pipeline.set(`${prefix}refresh:${hash(value)}`, family, 'EX', DAY)
        pipeline.set(`${prefix}family:${family}`, recordOf(family), 'EX', DAY)
      }
    }
    await pipeline.exec()
  }
  return {
    server,
    prepare,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await redis.quit()
      await store.close()
    },
  }
}
