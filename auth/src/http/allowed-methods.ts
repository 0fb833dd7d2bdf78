import type { Hono } from 'hono'

/**
 * The methods each path of an app answers, read from its routes (middleware, registered for
 * every method, left out). A request the router found no handler for then learns whether its
 * path exists with other methods (405 with `Allow`, RFC 9110 §15.5.6) or not at all (404).
 * The routes are read at the first such request, once everything is mounted (the standalone
 * services come after the app is made).
 */
export function allowedMethods(
  app: Hono,
  headRefused: (path: string) => boolean = () => false
): (path: string) => readonly string[] {
  let routes: readonly { pattern: RegExp; method: string }[] | undefined
  return (path) => {
    routes ??= app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({ pattern: pathPattern(route.path), method: route.method }))
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))
    // Hono answers HEAD with a GET route, unless the app refuses it there.
    if (methods.has('GET') && !headRefused(path)) methods.add('HEAD')
    return [...methods].sort()
  }
}

/** A route path (`/register/:client_id`, `/.well-known/x/*`) as a pattern matching whole paths. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*'
      if (segment.startsWith(':')) return '[^/]+'
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('/')
  return new RegExp(`^${source}$`)
}
