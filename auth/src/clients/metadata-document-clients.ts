import { type Clock, epochSeconds } from '../clock.ts'
import { InvalidClient, type OAuthError, RateLimited, TemporarilyUnavailable } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { hashSecret } from '../oauth/secrets.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { parseRecord } from '../store/stored-record.ts'
import {
  clientFromMetadataDocument,
  clientIdHost,
  clientIdUrlProblem,
} from './client-id-metadata.ts'
import type { ClientRecord } from './client-registry.ts'
import {
  fetchMetadataDocument,
  MetadataDocumentError,
  type MetadataDocumentFetchOptions,
} from './metadata-document.ts'

/**
 * Clients identified by a client ID metadata document: fetched on first sight, cached in the
 * store (so replicas share one copy) for as long as the document's `Cache-Control` allows within
 * bounds, refused with a clear OAuth error when the document cannot be had. Failures are cached
 * briefly, so a bad URL is not fetched again and again; fetches are limited per caller, per
 * document host and in all, since anyone can name a URL.
 */
export interface MetadataDocumentClients {
  /** The client the document at `clientId` describes; an `OAuthError` when there is none. */
  find(clientId: string, requester?: DocumentRequester): Promise<ClientRecord>
  /** Tokens were issued to the client: its document is kept for its whole cache lifetime. */
  recordUse(clientId: string): Promise<void>
  /** Drops the cached document (the client was deleted). */
  forget(clientId: string): Promise<void>
}

/**
 * Who makes a document be fetched: an address as rate limits count it, and the signed-in user of
 * a browser session when there is one. A signed-in user's fetches are counted as theirs, outside
 * the per-host limit, and against a global limit of their own (`requestLimiter`).
 */
export interface DocumentRequester {
  readonly address: string
  readonly signedIn?: { readonly id: string } | null | undefined
  /** A browser at the gateway's pages, which could sign in there (not a client's server). */
  readonly browser?: boolean
}

export interface MetadataDocumentClientsDeps {
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly fetch: MetadataDocumentFetchOptions
}

/** How long a document is cached: its `max-age` within these bounds, the default without one. */
export const DOCUMENT_CACHE_SECONDS = { min: 300, max: 86_400, default: 3600 } as const
/**
 * A document no token was issued for is kept this long at most. Anyone can make the gateway fetch
 * documents; only a signed-in, allowed user's approval makes one worth a day of the store.
 */
export const UNUSED_DOCUMENT_SECONDS = 600
/**
 * A document tokens were issued for is kept this long after it goes stale. Its client comes back
 * to refresh, and the document is fetched again then, outside the shared per-host and global
 * limits: those are for URLs nobody approved, and one caller naming junk URLs on a client's host
 * must not lock that client's users out (the re-fetches are bounded by the approved documents).
 */
export const KNOWN_DOCUMENT_SECONDS = 30 * 86_400
/** A failed fetch is remembered this long: the URL is not fetched again meanwhile. */
export const FAILED_DOCUMENT_SECONDS = 60
/**
 * Fetches a minute, from one caller, of one document host, and in all (for anonymous callers and
 * for signed-in users each). With the lifetimes above the store holds at most 1,200 unused
 * documents (under 5 KiB each) and 120 failures. A host's share is three callers' worth: one
 * caller naming junk URLs on a client's host cannot spend it alone and keep that client's first
 * users out.
 */
export const DOCUMENT_FETCH_LIMITS = { perCaller: 10, perHost: 30, global: 60, windowSeconds: 60 }

type CacheEntry =
  | { readonly client: ClientRecord; readonly freshUntil: number; readonly used: boolean }
  | { readonly failure: { readonly transient: boolean; readonly problem: string } }

export function createMetadataDocumentClients(
  deps: MetadataDocumentClientsDeps
): MetadataDocumentClients {
  const { store, clock, logger } = deps
  const inFlight = new Map<string, Promise<ClientRecord>>()
  const cacheKey = (clientId: string) => keys.clientMetadataDocument(hashSecret(clientId))

  const read = async (clientId: string) => {
    const key = cacheKey(clientId)
    const [entry, blocked] = await store.getMany([key, keys.revokedClient(clientId)])
    return { entry: parseRecord<CacheEntry>(entry, key), blocked: blocked !== null }
  }

  /**
   * A known document (tokens were issued for it) is charged to its caller only; one a signed-in
   * user asks for, to the user and the signed-in users' global limit.
   */
  const countFetch = async (
    clientId: string,
    requester: DocumentRequester | undefined,
    known: boolean
  ) => {
    const { perCaller, perHost, global, windowSeconds } = DOCUMENT_FETCH_LIMITS
    const now = epochSeconds(clock)
    const window = Math.floor(now / windowSeconds)
    const over = async (key: string, limit: number) =>
      (await store.increment(key, windowSeconds)) > limit
    const signedIn = requester?.signedIn
    const caller = signedIn ? `user:${signedIn.id}` : requester?.address
    const shared = async () =>
      signedIn
        ? over(keys.globalRateLimit('client-metadata:signed-in', window), global)
        : (await over(
            keys.rateLimit('client-metadata-host', clientIdHost(clientId), window),
            perHost
          )) || (await over(keys.globalRateLimit('client-metadata', window), global))
    if (
      (caller && (await over(keys.rateLimit('client-metadata', caller, window), perCaller))) ||
      (!known && (await shared()))
    ) {
      // Anonymous callers share the host's and the global limits, which others can spend: a
      // signed-in browser is counted apart, so a browser is told the way past.
      const message =
        requester?.browser && !signedIn
          ? 'too many client metadata documents fetched at once, retry in a minute, or sign in at this gateway first (its /account page): signed-in browsers are counted apart'
          : 'too many client metadata documents fetched at once, retry in a minute'
      throw new RateLimited(message, (window + 1) * windowSeconds - now)
    }
  }

  const fetchClient = async (clientId: string, known: boolean) => {
    const fetchedAt = epochSeconds(clock)
    try {
      const fetched = await fetchMetadataDocument(new URL(clientId), deps.fetch)
      const client = clientFromMetadataDocument(clientId, fetched.document, fetchedAt)
      const lifetime = cacheLifetime(fetched.maxAgeSeconds)
      const entry: CacheEntry = { client, freshUntil: fetchedAt + lifetime, used: known }
      await store.put(cacheKey(clientId), JSON.stringify(entry), {
        ttlSeconds: known
          ? lifetime + KNOWN_DOCUMENT_SECONDS
          : Math.min(lifetime, UNUSED_DOCUMENT_SECONDS),
      })
      logger.info({ event: 'client_metadata_document_fetched', client_id: clientId, lifetime })
      return client
    } catch (error) {
      if (!(error instanceof MetadataDocumentError)) throw error
      const failure = { transient: error.transient, problem: error.message }
      logger.info({
        event: 'client_metadata_document_refused',
        client_id: clientId,
        ...failure,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
      })
      // A known document's host that does not answer now keeps it known (its caller's limit
      // bounds the retries); a document that is wrong now is forgotten like any other.
      if (known && failure.transient) throw refusal(clientId, failure)
      const entry: CacheEntry = { failure }
      await store.put(cacheKey(clientId), JSON.stringify(entry), {
        ttlSeconds: FAILED_DOCUMENT_SECONDS,
      })
      throw refusal(clientId, failure)
    }
  }

  /** Concurrent first requests for one document (a client retrying, parallel tabs) share it. */
  const sharedFetch = (clientId: string, known: boolean) => {
    const fetching = fetchClient(clientId, known).finally(() => {
      if (inFlight.get(clientId) === fetching) inFlight.delete(clientId)
    })
    inFlight.set(clientId, fetching)
    return fetching
  }

  return {
    async find(clientId, requester) {
      const problem = clientIdUrlProblem(clientId)
      if (problem) {
        throw new InvalidClient(
          `client_id is an https URL, so a metadata document URL, but it ${problem}`,
          {
            reason: 'client_id_url_invalid',
          }
        )
      }
      const { entry, blocked } = await read(clientId)
      if (blocked) {
        throw new InvalidClient(
          'this application has been removed from this gateway by its operator',
          {
            reason: 'client_blocked',
          }
        )
      }
      if (entry && 'failure' in entry) throw refusal(clientId, entry.failure)
      if (entry && entry.freshUntil > epochSeconds(clock)) return entry.client
      const known = entry?.used === true
      const joined = inFlight.get(clientId)
      if (joined) return joined
      // Counted before the fetch is shared: a caller over its limit is refused alone, and whoever
      // joins a fetch gets the document's outcome, never another caller's refusal.
      await countFetch(clientId, requester, known)
      return inFlight.get(clientId) ?? sharedFetch(clientId, known)
    },

    async recordUse(clientId) {
      const { entry } = await read(clientId)
      if (!entry || 'failure' in entry || entry.used) return
      const remaining = entry.freshUntil - epochSeconds(clock)
      if (remaining <= 0) return
      await store.put(cacheKey(clientId), JSON.stringify({ ...entry, used: true }), {
        ttlSeconds: remaining + KNOWN_DOCUMENT_SECONDS,
      })
    },

    async forget(clientId) {
      await store.delete(cacheKey(clientId))
    },
  }
}

/** `max-age` (or `Expires`) within the bounds; `no-store` and `no-cache` get the minimum. */
function cacheLifetime(maxAgeSeconds: number | undefined): number {
  const { min, max } = DOCUMENT_CACHE_SECONDS
  return Math.min(max, Math.max(min, maxAgeSeconds ?? DOCUMENT_CACHE_SECONDS.default))
}

/**
 * A document that cannot be fetched now is `temporarily_unavailable` (the client keeps its tokens
 * and retries); one that is wrong is `invalid_client`. The document is named by its host, as the
 * consent page names it: its path is anyone's text, up to 1,024 characters, which the error page
 * would show on the gateway's origin (the client knows its own URL; the log has it).
 */
function refusal(clientId: string, failure: { transient: boolean; problem: string }): OAuthError {
  const options = {
    reason: failure.transient ? 'client_metadata_unreachable' : 'client_metadata_invalid',
  }
  const document = `the client metadata document at ${clientIdHost(clientId)}`
  return failure.transient
    ? new TemporarilyUnavailable(
        `${document} could not be fetched: ${failure.problem}; retry later`,
        options
      )
    : new InvalidClient(`${document} cannot be used: ${failure.problem}`, options)
}
