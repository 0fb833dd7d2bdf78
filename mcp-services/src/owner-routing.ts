import { createHash, randomUUID } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import type { BoundedLog } from './bounded-log.ts'
import type { ReplicaPeer, ReplicaSetConfig } from './config.ts'
import { jsonRpcErrorResponse, SERVER_ERROR, SESSION_NOT_FOUND } from './json-rpc-error.ts'
import { sessionIdOf } from './modern-protocol.ts'
import { BodyTooLarge, FORWARDED_HEADER, PeerForwarder } from './peer-forwarding.ts'
import { BridgeFull, bridgeFullAnswer } from './requests-in-hand.ts'

export interface OwnerRoutingDeps {
  readonly replicas: ReplicaSetConfig
  /** The deployment's shared secret, sent to peers (their guard checks it like the edge's). */
  readonly sharedSecret: string | undefined
  readonly maxRequestBodyBytes: number
  readonly logger: Logger
  /**
   * Where a forward loop is logged, within `REFUSAL_LOG_RATE`: a client can send the forwarding
   * header through the edge, with a session id naming another replica, as often as it likes.
   */
  readonly refusals: BoundedLog
}

export interface OwnerRouting {
  /** Mints a session id that names this replica as the session's owner. */
  readonly newSessionId: () => string
  /** For `/mcp`, after the guards: sends a request of another replica's session there. */
  readonly middleware: MiddlewareHandler
  readonly retryElsewhere: RetryElsewhere
  /** Ends the GET streams forwarded to their owners (shutdown: the listener drains). */
  endStreams(): void
  close(): void
}

/**
 * Session-era requests served by the replica that started the session, whichever replica the
 * proxy in front picked (docs/mcp-services.md, "Several replicas"). A session lives in one
 * process (its child, its SSE streams, its event store), and a round-robin proxy cannot know
 * where: the first request has no session id to hash, and MCP clients keep no cookies. So the id
 * a replica mints starts with an opaque tag of its own (`<tag>.<uuid>`, a hash of its id: no
 * address in it), and a replica that receives a request for another replica's tag forwards it
 * there, streaming, with the shared secret and every header kept (the owner still checks that
 * the session's user sent it). The owner never forwards again. When the owner cannot be reached
 * the answer is 404, as for any session that is gone: the client starts a new one.
 *
 * Requests without a session id (initialize, the stateless era) are served where they land.
 */
/**
 * A stateless (2026-07-28) retry whose `requestState` another replica minted: the call it resumes
 * waits in that replica's child, so the retry (its body already read) is answered there.
 * Undefined: not another replica's, or it cannot be reached (the state is then unknown here).
 */
export type RetryElsewhere = (
  request: Request,
  body: string,
  parsed: unknown
) => Promise<Response | undefined>

export function ownerRouting(deps: OwnerRoutingDeps): OwnerRouting {
  const { replicas, logger } = deps
  const selfTag = replicaTag(replicas.self)
  const byTag = new Map<string, ReplicaPeer>()
  for (const peer of replicas.peers) {
    const tag = replicaTag(peer.id)
    const clash = byTag.get(tag)
    if (clash) throw new Error(`replicas "${clash.id}" and "${peer.id}" share a session tag`)
    byTag.set(tag, peer)
  }
  const forwarder = new PeerForwarder({
    selfId: replicas.self,
    sharedSecret: deps.sharedSecret,
    maxRequestBodyBytes: deps.maxRequestBodyBytes,
    onCut: (error) =>
      logger.warn(
        { event: 'peer_answer_cut', err: error },
        'a peer cut a forwarded answer short; its client’s stream ends'
      ),
  })

  /** The peer that minted `id` (`<tag>.…`); undefined for this replica's ids and unknown tags. */
  const ownerOf = (id: string | undefined) => {
    const tag = id?.split('.', 1)[0]
    return tag === undefined || tag === selfTag ? undefined : byTag.get(tag)
  }

  const middleware: MiddlewareHandler = async (c, next) => {
    const owner = ownerOf(sessionIdOf((name) => c.req.header(name)))
    if (owner === undefined) {
      await next()
      return undefined
    }
    const from = c.req.header(FORWARDED_HEADER)
    if (from !== undefined) {
      // The header's length, not its value: it may be a client's, many kilobytes of it.
      deps.refusals(
        'warn',
        'session_forward_loop',
        { reason: owner.id, from_length: from.length, owner: owner.id },
        'a forwarded request names another replica’s session: the peer lists disagree, or a client sent the header'
      )
      return jsonRpcErrorResponse(404, SESSION_NOT_FOUND, 'Session not found')
    }
    try {
      return await forwarder.forward(c.req.raw, owner.url)
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return jsonRpcErrorResponse(413, SERVER_ERROR, 'Payload Too Large')
      }
      if (error instanceof BridgeFull) return bridgeFullAnswer()
      if (c.req.raw.signal.aborted) {
        return jsonRpcErrorResponse(400, SERVER_ERROR, 'Bad Request: the client went away')
      }
      logger.warn(
        { event: 'session_owner_unreachable', owner: owner.id, err: error },
        'the replica that owns the session cannot be reached; answered 404'
      )
      return jsonRpcErrorResponse(404, SESSION_NOT_FOUND, 'Session not found')
    }
  }

  const retryElsewhere: RetryElsewhere = async (request, body, parsed) => {
    const params = isObject(parsed) && isObject(parsed.params) ? parsed.params : undefined
    const state = params?.requestState
    const owner = typeof state === 'string' ? ownerOf(state) : undefined
    if (owner === undefined || request.headers.has(FORWARDED_HEADER)) return undefined
    try {
      return await forwarder.forward(request, owner.url, body)
    } catch (error) {
      logger.warn(
        { event: 'request_state_owner_unreachable', owner: owner.id, err: error },
        'the replica holding the waiting call cannot be reached'
      )
      return undefined
    }
  }

  return {
    newSessionId: () => `${selfTag}.${randomUUID()}`,
    middleware,
    retryElsewhere,
    endStreams: () => forwarder.endStreams(),
    close: () => forwarder.close(),
  }
}

/** What starts the ids this replica mints (`<tag>.`); empty with one replica. */
export function ownedIdPrefix(replicas: ReplicaSetConfig | undefined): string {
  return replicas === undefined ? '' : `${replicaTag(replicas.self)}.`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A replica's tag in the session ids it mints: 64 bits of a hash of its id, base64url. */
export function replicaTag(replicaId: string): string {
  return createHash('sha256')
    .update(`mcp-bridge-replica:${replicaId}`)
    .digest()
    .subarray(0, 8)
    .toString('base64url')
}
