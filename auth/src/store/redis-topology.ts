/**
 * What `REDIS_URL` names: one Redis server, a master watched by Sentinels, or a Redis Cluster.
 *
 *   redis://[[user]:password@]host:port[/db]            one server (`rediss://` for TLS)
 *   redis-sentinel://[[user]:password@]host:port,host:port/master-name[?db=N&sentinel_password=…]
 *   redis-cluster://[[user]:password@]host:port,host:port
 *
 * The credentials are those of the data nodes; Sentinels are asked without a password unless
 * `sentinel_password` is given. A Cluster has no databases, so no `/db` there.
 */
export type RedisTopology =
  | { readonly kind: 'server'; readonly url: string }
  | {
      readonly kind: 'sentinel'
      readonly sentinels: readonly RedisNode[]
      readonly masterName: string
      readonly db: number
      readonly credentials: RedisCredentials
      readonly sentinelPassword: string | undefined
    }
  | {
      readonly kind: 'cluster'
      readonly nodes: readonly RedisNode[]
      readonly credentials: RedisCredentials
    }

export interface RedisNode {
  readonly host: string
  readonly port: number
}

export interface RedisCredentials {
  readonly username: string | undefined
  readonly password: string | undefined
}

/** A `REDIS_URL` that names no topology we can connect to; the message says why. */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError'
}

const MULTI_HOST =
  /^(redis-sentinel|redis-cluster):\/\/(?:([^@/]*)@)?([^/?#@]+)(\/[^?#]*)?(\?[^#]*)?$/

export function parseRedisUrl(url: string): RedisTopology {
  if (/^rediss?:\/\//.test(url)) return serverUrl(url)
  const match = MULTI_HOST.exec(url)
  if (!match) {
    throw new RedisUrlError(
      'a redis://, rediss://, redis-sentinel://host:port,…/master-name or redis-cluster://host:port,… URL'
    )
  }
  const [, scheme, userInfo, hostList = '', path = '', query = ''] = match
  const nodes = hostList.split(',').map((entry) => parseNode(entry, scheme === 'redis-sentinel'))
  const credentials = parseCredentials(userInfo)
  const params = new URLSearchParams(query)
  if (scheme === 'redis-cluster') {
    if (path !== '' && path !== '/') {
      throw new RedisUrlError('a Redis Cluster has no databases: no /db in a redis-cluster:// URL')
    }
    if (params.size > 0) throw new RedisUrlError('redis-cluster:// takes no query parameters')
    return { kind: 'cluster', nodes, credentials }
  }
  const masterName = decodeURIComponent(path.replace(/^\//, ''))
  if (!masterName || masterName.includes('/')) {
    throw new RedisUrlError('redis-sentinel:// needs the master name as its path: …/mymaster')
  }
  for (const name of params.keys()) {
    if (name !== 'db' && name !== 'sentinel_password') {
      throw new RedisUrlError(`redis-sentinel:// does not know the parameter ${name}`)
    }
  }
  const db = params.get('db') ?? '0'
  if (!/^\d{1,2}$/.test(db)) throw new RedisUrlError(`db must be a database number, not ${db}`)
  return {
    kind: 'sentinel',
    sentinels: nodes,
    masterName,
    db: Number(db),
    credentials,
    sentinelPassword: params.get('sentinel_password') ?? undefined,
  }
}

/** `redis://` or `rediss://`: a host, a port in range, and at most a database number as path. */
function serverUrl(url: string): RedisTopology {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RedisUrlError('not a URL the client can read: redis://host:port/db (port 1–65535)')
  }
  if (!parsed.hostname) throw new RedisUrlError('names no host: redis://host:port/db')
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d{1,5}$/.test(db)) {
    throw new RedisUrlError(`the path must be a database number, not ${JSON.stringify(db)}`)
  }
  return { kind: 'server', url }
}

function parseNode(entry: string, sentinel: boolean): RedisNode {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry.trim())
  const port = Number(match?.[2] ?? (sentinel ? 26379 : 6379))
  if (!match?.[1] || port < 1 || port > 65_535) {
    throw new RedisUrlError(`${JSON.stringify(entry)} is not a host:port`)
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port }
}

function parseCredentials(userInfo: string | undefined): RedisCredentials {
  if (!userInfo) return { username: undefined, password: undefined }
  const colon = userInfo.indexOf(':')
  const user = colon < 0 ? userInfo : userInfo.slice(0, colon)
  const password = colon < 0 ? undefined : decodeURIComponent(userInfo.slice(colon + 1))
  return { username: user ? decodeURIComponent(user) : undefined, password: password || undefined }
}

/**
 * The key prefix the store really uses. On a Cluster every key of one gateway must hash to one
 * slot, or its scripts (batches, takes) and MGETs are refused (CROSSSLOT): the prefix becomes a
 * hash tag (`gateway:` → `{gateway}:`) unless it already holds one. On one server and on Sentinel
 * the prefix stays as configured, so the keys of an existing deployment never change.
 */
export function effectiveKeyPrefix(topology: RedisTopology, prefix: string): string {
  if (topology.kind !== 'cluster' || hasHashTag(prefix)) return prefix
  const name = prefix.endsWith(':') ? prefix.slice(0, -1) : prefix
  return `{${name || 'gateway'}}${prefix.endsWith(':') ? ':' : ''}`
}

/** Redis hashes only what is between the first `{` and the next `}`, when that is not empty. */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{')
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1)
  return close > open + 1
}
