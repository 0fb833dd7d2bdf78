import { type Context, Hono } from 'hono'
import { html } from 'hono/html'
import { pageLimit } from '../authorization/anonymous-writes.ts'
import { isLoopbackHost } from '../config-values.ts'
import type { AuthDeps } from '../deps.ts'
import { AccessDenied, AuthorizationErrorPage, InvalidRequest } from '../errors.ts'
import { readFormParams } from '../http/body.ts'
import { isS256Challenge } from '../oauth/pkce.ts'
import { renderPage } from '../pages/layout.ts'
import { issueDevelopmentLoginCode } from '../upstream/development-login.ts'

/** GitHub's login rule: alphanumerics and single inner hyphens, at most 39 characters. */
const LOGIN = /^[a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38}$/i
/** The `state` the gateway sends upstream (`newSecret`), as the callback accepts it. */
const STATE = /^[\w-]{20,100}$/
/**
 * Anyone who reaches the page can post to it, and each post stores a code: limited like the other
 * writes before sign-in (a person signs in once).
 */
const SIGN_IN_LIMITS = { bucket: 'dev-login', limit: 30, globalLimit: 300, windowSeconds: 60 }

/**
 * `/dev-login`: the page of the development sign-in (`upstream/development-login.ts`), served
 * only when that is the configured identity provider. The user types a name; the answer is a
 * redirect to the callback with a code, as GitHub's would be.
 */
export const developmentSignInRoute = (deps: AuthDeps) => {
  const { store, config } = deps
  const issuerHost = new URL(config.issuer).host
  const limitSignIns = pageLimit(deps, {
    ...SIGN_IN_LIMITS,
    description: 'too many sign-ins at once; wait a minute and start again',
  })
  return new Hono()
    .use('/dev-login', async (c, next) => {
      if (!config.developmentSignInOptedIn && !madeOnThisMachine(c, issuerHost)) {
        throw new AuthorizationErrorPage(
          new AccessDenied(
            'the development sign-in answers only requests made on this machine; set DEVELOPMENT_SIGN_IN=true to offer it elsewhere (never for real data)',
            { reason: 'development_sign_in_not_local' }
          )
        )
      }
      await next()
    })
    .get('/dev-login', (c) => {
      const state = c.req.query('state') ?? ''
      const challenge = c.req.query('code_challenge') ?? ''
      return renderPage(
        c,
        'Development sign-in',
        html`<h1>Development sign-in</h1>
<p class="warning">This gateway has no GitHub OAuth App configured, so it offers this sign-in for trying it out: anyone can type any name. Never use it for real data: it runs only on a loopback address or with <code>DEVELOPMENT_SIGN_IN=true</code>, never in production or for a public https address.</p>
<form method="post" action="/dev-login">
<input type="hidden" name="state" value="${state}">
<input type="hidden" name="code_challenge" value="${challenge}">
<p><label>GitHub-style user name <input name="login" required pattern="[A-Za-z0-9-]{1,39}" autofocus></label></p>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>`,
        'onward'
      )
    })
    .post('/dev-login', async (c: Context) => {
      const form = await readFormParams(c)
      const login = form.get('login') ?? ''
      const state = form.get('state') ?? ''
      const codeChallenge = form.get('code_challenge') ?? ''
      if (!LOGIN.test(login)) {
        throw new AuthorizationErrorPage(
          new InvalidRequest('a user name of letters, digits and hyphens is required')
        )
      }
      if (!STATE.test(state) || !isS256Challenge(codeChallenge)) {
        throw new AuthorizationErrorPage(
          new InvalidRequest('this sign-in did not start at the gateway; start again')
        )
      }
      await limitSignIns(c)
      const code = await issueDevelopmentLoginCode(store, { login, codeChallenge })
      const callback = new URL(`${config.issuer}/callback`)
      callback.search = new URLSearchParams({ code, state }).toString()
      return c.body(null, 302, { Location: callback.href, 'Cache-Control': 'no-store' })
    })
}

/** Headers proxies, tunnels and CDNs add: a request carrying one was not made on this machine. */
const FORWARDING_HEADERS = [
  'forwarded',
  'via',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-original-forwarded-for',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
]

/**
 * A request as a browser on this machine sends it, following the gateway's own redirect: its
 * `Host` the issuer's very host and port, one `Host` only, a loopback URL, no proxy's headers.
 * The listener being on loopback proves less: a tunnel's agent or a local reverse proxy connects
 * from loopback too. This is a judgement of the request, not a proof: a proxy that sends the
 * issuer's own `Host` and adds nothing looks the same (docs/configuration.md).
 */
function madeOnThisMachine(c: Context, issuerHost: string): boolean {
  const headers = c.req.raw.headers
  if (FORWARDING_HEADERS.some((name) => headers.has(name))) return false
  // The URL is built from `Host`, or from an absolute request target, which then names it
  // instead: both must be the issuer's. Repeated `Host` lines arrive joined, never equal to it.
  const host = headers.get('host')
  if (host !== null && host.toLowerCase() !== issuerHost) return false
  const url = new URL(c.req.url)
  return url.host === issuerHost && isLoopbackHost(url.hostname)
}
