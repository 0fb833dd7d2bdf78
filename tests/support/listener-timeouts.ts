import type { ListenerTimeouts } from '../../mcp-services/src/http-server.ts'

/** The production listener bounds scaled down, so a test waits half a second, not half a minute. */
export const SMALL_LISTENER_TIMEOUTS: ListenerTimeouts = {
  keepAliveMs: 5_000,
  headersMs: 300,
  requestMs: 500,
  checkEveryMs: 50,
}

/** When Node must have cut a request: its bound, one check interval, and room for a busy machine. */
export const CUT_WITHIN_MS =
  SMALL_LISTENER_TIMEOUTS.requestMs + SMALL_LISTENER_TIMEOUTS.checkEveryMs + 1_000
