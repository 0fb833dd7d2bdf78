import { createPrivateKey, type JsonWebKey } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Config } from '../config.ts'
import { KEY_RING_RELOAD_SECONDS } from '../keys/signing-keys.ts'
import { protectedResourceMetadataUrl } from '../oauth/resource.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'

/**
 * A deployment checked from outside, the way clients see it: the authorization server is alive
 * and ready, its metadata names the configured issuer, the signing key the store holds as current
 * is published, and every enabled service publishes consistent resource metadata, refuses a
 * request without a token, and answers its own health check.
 */
export interface HealthCheck {
  readonly name: string
  readonly url: string
  readonly ok: boolean
  readonly detail: string
}

export interface HealthTarget {
  readonly issuer: string
  readonly resources: readonly { readonly name: string; readonly resource: string }[]
  /** The key new tokens are signed with; undefined when it cannot be known from here. */
  readonly activeKey: ActiveSigningKey | undefined
  /** Now, in epoch seconds: how long ago a rotation was. */
  readonly now: number
}

/** The current signing key's `kid`, and when a rotation made it (absent: at start, or pinned). */
export interface ActiveSigningKey {
  readonly kid: string
  readonly rotatedAt?: number | undefined
}

export function healthTarget(
  config: Config,
  activeKey: ActiveSigningKey | undefined,
  now: number
): HealthTarget {
  return {
    issuer: config.issuer,
    resources: config.protectedResources.map((r) => ({
      name: r.service.name,
      resource: r.resource,
    })),
    activeKey,
    now,
  }
}

/**
 * The current signing key: the pinned key's kid, or the current one of the ring in the store.
 * Reads only: a missing ring is reported, not created.
 */
export async function activeSigningKey(
  store: Store | undefined,
  pinnedKey: string | undefined
): Promise<ActiveSigningKey | undefined> {
  if (pinnedKey) {
    // As the gateway names a pinned key: by its RFC 7638 thumbprint.
    const text = Buffer.from(pinnedKey, 'base64').toString('utf8').trim()
    const key = text.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' })
      : createPrivateKey({ key: text, format: 'pem' })
    return { kid: await calculateJwkThumbprint(key.export({ format: 'jwk' }) as JWK) }
  }
  const raw = await store?.get(keys.signingKeys())
  if (!raw) return undefined
  const ring = parseRecord<{ current?: { kid?: string }; rotated_at?: number }>(
    raw,
    keys.signingKeys()
  )
  const kid = ring.current?.kid
  return kid === undefined ? undefined : { kid, rotatedAt: ring.rotated_at }
}

/**
 * Whether the JWKS a client reads publishes the current key. Every replica reads the ring again
 * within `KEY_RING_RELOAD_SECONDS`, so right after a rotation the new key is not published yet:
 * that is the rotation under way, not a fault, and a check run by a script right after
 * `keys rotate` must not fail on it.
 */
function currentKeyProblem(target: HealthTarget, kids: readonly (string | undefined)[]): Finding {
  const key = target.activeKey
  if (key === undefined || kids.includes(key.kid)) return undefined
  const age = key.rotatedAt === undefined ? undefined : target.now - key.rotatedAt
  if (age !== undefined && age <= KEY_RING_RELOAD_SECONDS + RELOAD_LEEWAY_SECONDS) {
    return {
      note: `the current key ${key.kid}, rotated ${age} s ago, is not published yet: every replica publishes it within ${KEY_RING_RELOAD_SECONDS} s`,
    }
  }
  const made = age === undefined ? 'at start' : `${age} s ago`
  return `does not publish the current key ${key.kid} (made ${made}): a gateway reads its keys again every ${KEY_RING_RELOAD_SECONDS} s, so this one does not reach this store or serves another deployment`
}

/** A check's outcome: fine (undefined), fine with something to say (`note`), or the problem. */
type Finding = string | { readonly note: string } | undefined

/** A reload timer's lateness on a busy replica. */
const RELOAD_LEEWAY_SECONDS = 5

export async function checkHealth(target: HealthTarget, timeoutMs = 5_000): Promise<HealthCheck[]> {
  const get = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
  const check = async (
    name: string,
    url: string,
    probe: (response: Response) => Promise<Finding> | Finding,
    init?: RequestInit
  ): Promise<HealthCheck> => {
    try {
      const finding = await probe(await get(url, init))
      if (typeof finding === 'object') return { name, url, ok: true, detail: finding.note }
      return { name, url, ok: finding === undefined, detail: finding ?? 'ok' }
    } catch (error) {
      return { name, url, ok: false, detail: unreachable(error) }
    }
  }
  const status = (expected: number) => (response: Response) =>
    response.status === expected ? undefined : `answered ${response.status}, expected ${expected}`

  const checks = [
    await check('auth /health', `${target.issuer}/health`, status(200)),
    await check('auth /ready', `${target.issuer}/ready`, status(200)),
  ]
  let jwksUri = `${target.issuer}/jwks`
  checks.push(
    await check(
      'authorization server metadata',
      `${target.issuer}/.well-known/oauth-authorization-server`,
      async (response) => {
        if (response.status !== 200) return `answered ${response.status}`
        const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown }
        if (typeof metadata.jwks_uri === 'string') jwksUri = metadata.jwks_uri
        return metadata.issuer === target.issuer
          ? undefined
          : `names the issuer ${String(metadata.issuer)}, expected ${target.issuer} (AUTH_ISSUER)`
      }
    )
  )
  checks.push(
    await check('signing keys (JWKS)', jwksUri, async (response) => {
      if (response.status !== 200) return `answered ${response.status}`
      const kids = ((await response.json()) as { keys?: { kid?: string }[] }).keys?.map(
        (k) => k.kid
      )
      if (!kids?.length) return 'publishes no key'
      return currentKeyProblem(target, kids)
    })
  )
  for (const { name, resource } of target.resources) {
    const metadataUrl = protectedResourceMetadataUrl(resource)
    checks.push(
      await check(`${name}: resource metadata`, metadataUrl, async (response) => {
        if (response.status !== 200) return `answered ${response.status}`
        const metadata = (await response.json()) as {
          resource?: unknown
          authorization_servers?: unknown
        }
        if (metadata.resource !== resource) return `names the resource ${String(metadata.resource)}`
        return Array.isArray(metadata.authorization_servers) &&
          metadata.authorization_servers.includes(target.issuer)
          ? undefined
          : `does not name ${target.issuer} among its authorization servers`
      }),
      await check(
        `${name}: refuses requests without a token`,
        resource,
        (response) => {
          const challenge = response.headers.get('www-authenticate') ?? ''
          if (response.status !== 401) return `answered ${response.status}, expected 401`
          return challenge.includes(`resource_metadata="${metadataUrl}"`)
            ? undefined
            : `its challenge does not point at ${metadataUrl}`
        },
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
          },
          body: '{}',
        }
      ),
      await check(`${name}: /health`, serviceHealthUrl(resource), status(200))
    )
  }
  return checks
}

/** A service's liveness URL: its MCP endpoint's `/mcp` replaced by `/health`. */
function serviceHealthUrl(resource: string): string {
  return resource.replace(/\/mcp\/?$/, '/health')
}

function unreachable(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time'
  const cause = error instanceof Error ? (error.cause as Error & { code?: string }) : undefined
  return `unreachable (${cause?.code ?? cause?.message ?? String(error)})`
}
