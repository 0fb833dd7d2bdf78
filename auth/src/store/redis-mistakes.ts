import { Cluster, type Redis } from 'ioredis'

/**
 * Answers by which Redis says that `REDIS_URL` names the wrong kind of server: a
 * `redis-cluster://` URL at nodes without cluster mode, a `redis-sentinel://` URL whose master
 * name no Sentinel monitors, or whose nodes are no Sentinels, a one-server URL at a Cluster node.
 * Waiting does not mend them, unlike an outage.
 *
 * One node's answer proves nothing about the others (a list may hold one stray node while the
 * right ones restart): a Cluster or Sentinel mistake is concluded only from a round in which
 * ioredis asked every node and each gave the same answer. Anything else in the round (a node out
 * of reach, one that knows the master) leaves it an outage.
 */
export interface SentinelSet {
  /** `host:port` of each Sentinel of `REDIS_URL`, as ioredis names them in its reports. */
  readonly addresses: readonly string[]
  readonly masterName: string
}

type Mistake = 'not-cluster' | 'unknown-master' | 'not-sentinel'

function mistakeIn(reason: string): Mistake | undefined {
  if (/\bcluster support disabled\b/i.test(reason)) return 'not-cluster'
  if (/\bno such master\b/i.test(reason)) return 'unknown-master'
  if (/\bunknown command 'sentinel'/i.test(reason)) return 'not-sentinel'
  return undefined
}

function describe(mistake: Mistake, sentinels: SentinelSet | undefined): string {
  switch (mistake) {
    case 'not-cluster':
      return 'not a Redis Cluster: the nodes of this redis-cluster:// URL run without cluster mode (cluster support disabled); one server is named by redis://'
    case 'unknown-master':
      return `unknown Sentinel master: no Sentinel of this URL monitors a master named ${JSON.stringify(sentinels?.masterName ?? '')} (No such master with that name)`
    case 'not-sentinel':
      return "not Sentinels: the nodes of this redis-sentinel:// URL are Redis servers without Sentinel mode (unknown command 'sentinel')"
  }
}

/**
 * A Cluster node answering a client that is none: a command whose key lives on another node is
 * redirected, a script whose keys span slots refused. To a Cluster client neither is a mistake in
 * the URL: a redirection it did not follow is a slot moving (an outage, `asUnavailable`), and a
 * CROSSSLOT only a bug of ours (every key carries one hash tag).
 */
const REDIRECTED = /^(MOVED|ASK) \d+ \S+/
const CROSS_SLOT = /^CROSSSLOT /

export function clusterNodeIn(error: unknown, clusterClient: boolean): string | undefined {
  if (clusterClient || !(error instanceof Error)) return undefined
  const { message } = error
  if (!REDIRECTED.test(message) && !CROSS_SLOT.test(message)) return undefined
  return clusterNode(`it sends commands to other nodes (${message.split(' ')[0]})`)
}

/**
 * The same, told by the node itself (`INFO cluster`): before any command meets a key of another
 * node, so a start notices even when it reads no key.
 */
export function clusterNodeInInfo(info: string): string | undefined {
  return /^cluster_enabled:1\b/m.test(info)
    ? clusterNode('it runs in cluster mode (cluster_enabled:1)')
    : undefined
}

/**
 * A database number the server refuses. The client would go on in database 0 (it reports the
 * refused `SELECT` as an error event only), writing beside whatever else lives there.
 */
export function missingDatabase(error: unknown, db: number): string | undefined {
  if (!(error instanceof Error) || !/DB index is out of range/i.test(error.message))
    return undefined
  return `this Redis has no database ${db} (its \`databases\` setting is lower); name one it has, as /0`
}

function clusterNode(evidence: string): string {
  return `a Redis Cluster node: this URL names one server, but ${evidence}; a Cluster is named by redis-cluster://host:port,…`
}

/**
 * Follows the rounds of `connection` (a Cluster's slot refreshes, a Sentinel client's passes over
 * its Sentinels) and says at the end of each what mistake it showed, if one.
 */
export function watchRounds(
  connection: Redis | Cluster,
  sentinels: SentinelSet | undefined,
  judged: (mistake: string | undefined) => void
): void {
  const round = new Map<string, Mistake | undefined>()
  const judge = () => {
    const found = [...round.values()]
    // A Sentinel pass resumes where a master it found could not be reached: count whole ones.
    const whole = sentinels ? sentinels.addresses.every((address) => round.has(address)) : true
    const first = found[0]
    round.clear()
    const agreed = whole && first !== undefined && found.every((mistake) => mistake === first)
    judged(agreed ? describe(first, sentinels) : undefined)
  }
  connection.on('ready', () => round.clear())
  if (connection instanceof Cluster) {
    connection.on('node error', (error: unknown, key: string) => {
      round.set(String(key), mistakeIn(messageOf(error)))
    })
    connection.on('error', (error: unknown) => {
      if (/Failed to refresh slots cache/.test(messageOf(error))) judge()
    })
    return
  }
  if (!sentinels) return
  connection.on('sentinelError', (error: unknown) => {
    const [, address, reason = ''] =
      /^failed to connect to sentinel (\S+) because (.*)$/s.exec(messageOf(error)) ?? []
    if (address) round.set(address, mistakeIn(reason))
  })
  connection.on('error', (error: unknown) => {
    if (/^All sentinels are unreachable/.test(messageOf(error))) judge()
    else round.clear()
  })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * From `INFO memory`: a memory limit with a policy that evicts keys to stay under it. Clients,
 * refresh families, revocation markers and signing keys would then vanish without a trace (most
 * of them carry a TTL, so `volatile-*` policies take them too); only `noeviction` refuses writes
 * instead, which the gateway answers as a full store (503) and loses nothing.
 */
export function evictionRiskIn(info: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()
  const limit = Number(field('maxmemory') ?? '0')
  const policy = field('maxmemory_policy')
  if (!(limit > 0) || policy === undefined || policy === 'noeviction') return undefined
  return `Redis evicts keys at its memory limit (maxmemory ${limit} bytes, maxmemory-policy ${policy}): registered clients, tokens, revocations and signing keys can vanish; set maxmemory-policy noeviction`
}
