import type { Socket } from 'node:net'
import type { MiddlewareHandler } from 'hono'

/**
 * Holds a connection's writes until the end of the event-loop turn in which the answer was made,
 * so that what is ready together leaves together: a session's SSE head with its priming event,
 * a JSON answer with its head. One packet wakes the client once; two wake it twice, which on a
 * busy machine costs more than the write. Nothing waits for a timer: the writes go out in the
 * same turn (`setImmediate`), and later writes on the stream are not held.
 *
 * Works where the app is served by `@hono/node-server` (it passes the Node response as
 * `c.env.outgoing`); elsewhere it does nothing.
 */
export const coalescedWrites: MiddlewareHandler = async (c, next) => {
  const socket = socketOf(c.env)
  socket?.cork()
  try {
    await next()
  } finally {
    // The adapter writes the answer once the app has returned it, in the microtasks that follow.
    if (socket) setImmediate(() => socket.uncork())
  }
}

function socketOf(env: unknown): Socket | undefined {
  if (typeof env !== 'object' || env === null || !('outgoing' in env)) return undefined
  const outgoing = (env as { outgoing?: { socket?: Socket | null } }).outgoing
  return outgoing?.socket ?? undefined
}
