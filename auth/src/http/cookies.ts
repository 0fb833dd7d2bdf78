import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

/**
 * The gateway's browser cookies. On an https issuer (and on localhost, which browsers treat as
 * secure) they are `__Host-` cookies: Secure, Path=/, no Domain, so no sibling host can set or
 * read them. On plain http elsewhere (a LAN demo) browsers refuse Secure cookies, so they fall
 * back to ordinary names.
 */
export interface Cookies {
  get(c: Context, name: CookieName): string | undefined
  set(c: Context, name: CookieName, value: string, maxAgeSeconds: number): void
  clear(c: Context, name: CookieName): void
}

export type CookieName = 'session' | 'csrf' | 'pending' | 'notice'

export function cookies(issuer: string): Cookies {
  const url = new URL(issuer)
  const secure =
    url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  const fullName = (name: CookieName) => (secure ? `__Host-gw-${name}` : `gw-${name}`)
  return {
    get: (c, name) => getCookie(c, fullName(name)),
    set(c, name, value, maxAgeSeconds) {
      // Lax: the cookie must come along on the top-level GET back from the identity provider.
      setCookie(c, fullName(name), value, {
        path: '/',
        httpOnly: true,
        secure,
        sameSite: 'Lax',
        maxAge: maxAgeSeconds,
      })
    },
    clear: (c, name) => {
      deleteCookie(c, fullName(name), { path: '/', secure })
    },
  }
}
