import type { Context } from 'hono'

interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } }
}

/**
 * The caller's address for rate limiting. Behind a trusted reverse proxy it is the last
 * X-Forwarded-For entry (the one the proxy appended); otherwise the socket's peer.
 */
export function callerAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
    if (forwarded) return forwarded
  }
  return (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress ?? 'unknown'
}
