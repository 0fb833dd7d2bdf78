/**
 * The key-value store every piece of gateway state lives in. Two implementations: Redis
 * (`redis-store.ts`, production and tests) and memory (`memory-store.ts`, standalone demo only).
 *
 * Keys passed in are logical keys built by `keys.ts`; implementations add their own prefix.
 * TTLs are in seconds. Every operation that must not race (single-use codes, rotation) is a single
 * atomic call here, never a read followed by a write in the caller.
 */
export interface Store {
  get(key: string): Promise<string | null>
  /** Reads several keys in one round trip; `null` for each missing key. */
  getMany(keys: readonly string[]): Promise<(string | null)[]>
  /**
   * Writes a value. With `onlyIfAbsent` nothing is written when the key exists, and the result
   * says whether the write happened.
   */
  put(key: string, value: string, options?: PutOptions): Promise<boolean>
  /**
   * Replaces the value of an existing key and keeps its remaining lifetime, in one atomic step
   * (`SET … XX KEEPTTL`). False, and nothing written, when the key does not exist (never written,
   * deleted or expired): a replace never brings a key back.
   */
  replace(key: string, value: string): Promise<boolean>
  /** Atomically reads and deletes: whoever gets a non-null result is the only one who did. */
  take(key: string): Promise<string | null>
  delete(...keys: string[]): Promise<number>
  /**
   * Adds `by` (default 1) to a counter and answers its new value; the TTL is set when the counter
   * is created (fixed windows).
   */
  increment(key: string, ttlSeconds: number, by?: number): Promise<number>
  addToSet(key: string, member: string): Promise<void>
  removeFromSet(key: string, member: string): Promise<void>
  setMembers(key: string): Promise<string[]>
  /**
   * Applies all operations atomically (one script on Redis). With `unlessExists`, nothing is
   * written when that key exists, and the answer is false: a record is never created after its
   * revocation marker, whatever order the two requests run in. With `ifUnchanged`, nothing is
   * written unless the key still holds the value read (compare-and-set): of concurrent decisions
   * taken on one read, exactly one is written, and the others are told false. A batch of
   * deletions only goes through on a full store, as a lone delete does: it frees memory.
   */
  batch(operations: readonly WriteOperation[], guard?: BatchGuard): Promise<boolean>
  /**
   * Takes `key` and, only when it was there, applies `operations`, all in one atomic step (a Lua
   * script on Redis): whoever gets a non-null result is the only one who did, and nobody ever sees
   * the key gone without the operations applied.
   */
  takeAndWrite(key: string, operations: readonly WriteOperation[]): Promise<string | null>
  /**
   * Writes each of `markers` unless its key exists, and takes `key`, in one atomic step (a Lua
   * script on Redis); `marked[i]` says whether this call wrote `markers[i]`. Of concurrent calls,
   * the one that takes the value, or when there is none the one that writes a marker, is the only
   * one told so: what a revocation needs to be recorded once. A full store runs it all the same
   * (no `StoreFull`): a revocation must not wait for room.
   */
  markAndTake(
    markers: readonly Marker[],
    key: string
  ): Promise<{ marked: boolean[]; taken: string | null }>
  /**
   * Records a request at `now` (ms, the gateway's clock) in the pacer `key` and answers whether it
   * came sooner than the pacer's interval after the previous one; each such request lengthens the
   * interval by `backoffSeconds` (RFC 8628 §3.5 `slow_down`). One atomic step: of concurrent
   * requests within one interval exactly one is on time. The value is JSON `{ at, interval }`.
   */
  pace(key: string, now: number, pacing: Pacing): Promise<boolean>
  /** Iterates over the logical keys that start with `prefix` (SCAN, never KEYS). */
  scan(prefix: string): AsyncIterable<string>
  /** Remaining lifetime in seconds; `null` for a key without TTL or a missing key. */
  ttl(key: string): Promise<number | null>
  /**
   * Gives an existing key a new lifetime from now (0: none, it never expires); the value is left
   * alone. False when the key does not exist.
   */
  expire(key: string, ttlSeconds: number): Promise<boolean>
  /**
   * Appends entries, in order, to a capped stream (Redis `XADD … MAXLEN ~ maxLength` for each, in
   * one script: one command and one round trip however many): once the stream is longer, its
   * oldest entries go (on Redis in whole nodes, so it may briefly hold up to ~100 more). Streams
   * have no TTL; the cap is their bound.
   */
  appendToStream(key: string, entries: readonly string[], maxLength: number): Promise<void>
  /**
   * Up to `count` entries of a stream, newest first, only those older than the entry id `before`
   * when given (to read on from the last entry of a previous page).
   */
  readStream(key: string, count: number, before?: string): Promise<StreamEntry[]>
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>
  /**
   * Rejects with `StoreAccessDenied` naming every command (or the key pattern) the store's
   * credentials are not allowed, which requests would otherwise meet one path at a time.
   */
  checkPermissions(): Promise<void>
  /**
   * Why the store may drop keys it was given on its own, to make room (Redis `maxmemory` with an
   * eviction policy other than `noeviction`), in one line; undefined when it keeps them all.
   */
  evictionRisk(): Promise<string | undefined>
  close(): Promise<void>
}

/** One entry of a stream: its id (ordered by time of writing) and what was appended. */
export interface StreamEntry {
  readonly id: string
  readonly entry: string
}

export type BatchGuard =
  | { readonly unlessExists: string }
  | { readonly ifUnchanged: { readonly key: string; readonly value: string } }

export interface Pacing {
  /** The interval of a pacer's first request, in seconds. */
  readonly intervalSeconds: number
  /** What each request sooner than the interval adds to it, in seconds. */
  readonly backoffSeconds: number
  /** How long the pacer lives after its last request. */
  readonly ttlSeconds: number
}

/** A key written only if absent, for as long as it must live. */
export interface Marker {
  readonly key: string
  readonly value: string
  readonly ttlSeconds: number
}

export interface PutOptions {
  /** Seconds until the key expires; omitted or 0 means it never does. */
  readonly ttlSeconds?: number
  readonly onlyIfAbsent?: boolean
}

export type WriteOperation =
  | {
      readonly op: 'put'
      readonly key: string
      readonly value: string
      readonly ttlSeconds?: number
      /**
       * The key keeps the rest of its lifetime to the millisecond (`SET … KEEPTTL`), instead of
       * one counted again in whole seconds; `ttlSeconds` is then ignored. Only for a key the
       * batch's guard knows exists: a missing key would be written without a lifetime.
       */
      readonly keepTtl?: true
    }
  | { readonly op: 'delete'; readonly key: string }
  | {
      readonly op: 'addToSet'
      readonly key: string
      readonly member: string
      /**
       * The set lives at least this long from now: its TTL is set, or lengthened, never shortened
       * (an index set given its members' lifetime on every add outlives every member). 0: the set
       * never expires (a member that never does); omitted: the set's TTL is left alone.
       */
      readonly ttlSeconds?: number
    }
  | { readonly op: 'removeFromSet'; readonly key: string; readonly member: string }

/**
 * A stored value the gateway cannot read: not JSON, or not a JSON object, so it was changed outside
 * the gateway (edited by hand, cut short, written by another program under our prefix). It is the
 * server's fault, not the caller's, and no outage either: named by its key (never by its value) so
 * an operator can delete it or restore it from a backup.
 */
export class DamagedRecord extends Error {
  override readonly name = 'DamagedRecord'
  readonly key: string

  constructor(key: string, problem: string) {
    super(`the record at ${key} is damaged (${problem})`)
    this.key = key
  }
}

/** The store could not be reached (Redis down or restarting); answered as 503, not as a bug. */
export class StoreUnavailable extends Error {
  override readonly name: string = 'StoreUnavailable'
}

/**
 * The store is at its size bound (Redis `maxmemory` with `noeviction`, or the memory store's
 * limit): the write is refused rather than a live key evicted, and answered like an outage.
 */
export class StoreFull extends StoreUnavailable {
  override readonly name = 'StoreFull'
}

/**
 * The store is not what `REDIS_URL` says it is (a Cluster URL at a server without cluster mode, a
 * master name no Sentinel knows, a one-server URL at a Cluster node), or refuses its credentials.
 * Waiting will not mend it, so start-up stops on it; met later (the store changed under a running
 * gateway), it is answered like an outage. The message names the mistake, never a password.
 */
export class StoreMisconfigured extends StoreUnavailable {
  override readonly name: string = 'StoreMisconfigured'
}

/**
 * The store refuses our credentials (Redis `WRONGPASS` or `NOAUTH`: a wrong or missing password
 * in `REDIS_URL`).
 */
export class StoreAccessDenied extends StoreMisconfigured {
  override readonly name = 'StoreAccessDenied'
}
