import { type Context, Hono } from 'hono'
import { html } from 'hono/html'
import type { Clock } from '../clock.ts'
import { AuthorizationErrorPage, InvalidRequest, RateLimited } from '../errors.ts'
import { readFormParams } from '../http/body.ts'
import { requestLimiter } from '../http/rate-limit.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { isS256Challenge, verifierMatches } from '../oauth/pkce.ts'
import { hashSecret, newSecret } from '../oauth/secrets.ts'
import { renderPage } from '../pages/layout.ts'
import { keys } from '../store/keys.ts'
import type { Store } from '../store/store.ts'
import { NO_MEMBERSHIPS, type Upstream, UpstreamCodeRejected } from './upstream.ts'

/** GitHub's login rule: alphanumerics and single inner hyphens, at most 39 characters. */
const LOGIN = /^[a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38}$/i
const CODE_TTL_SECONDS = 60
/** The `state` the gateway sends upstream (`newSecret`), as the callback accepts it. */
const STATE = /^[\w-]{20,100}$/
/**
 * Anyone who reaches the page can post to it, and each post stores a code: limited like the other
 * writes before sign-in (a person signs in once).
 */
const SIGN_IN_LIMITS = { bucket: 'dev-login', limit: 30, globalLimit: 300, windowSeconds: 60 }

/**
 * A development sign-in for the standalone demo without a GitHub OAuth App: the user types a
 * name, no password. The configuration allows it only on a loopback issuer or when asked for
 * (`Config.developmentSignIn`); the page says what it is. It
 * walks the same path as GitHub (state, PKCE, callback, allow-list), so the demo shows the real
 * flow.
 */
export function developmentLogin(
  store: Store,
  issuer: string,
  limits: { clock: Clock; trustProxy: boolean }
): { provider: Upstream; routes: Hono } {
  const countSignIn = requestLimiter({
    store,
    ...limits,
    ...SIGN_IN_LIMITS,
    description: 'too many sign-ins at once; wait a minute and start again',
  })
  const provider: Upstream = {
    authorizationUrl({ state, codeChallenge }) {
      const url = new URL(`${issuer}/dev-login`)
      url.search = new URLSearchParams({ state, code_challenge: codeChallenge }).toString()
      return url
    },
    async completeLogin({ callbackUrl, codeVerifier }) {
      const code = callbackUrl.searchParams.get('code') ?? ''
      const raw = code ? await store.take(keys.developmentLoginCode(hashSecret(code))) : null
      const record = raw ? (JSON.parse(raw) as { login: string; codeChallenge: string }) : null
      if (!record || !verifierMatches(codeVerifier, record.codeChallenge)) {
        throw new UpstreamCodeRejected('the development sign-in code is invalid or expired')
      }
      return {
        subject: subjectOf(record.login),
        memberships: NO_MEMBERSHIPS,
        grant: { accessToken: record.login },
      }
    },
    currentSubject: async (grant) => ({
      subject: subjectOf(grant.accessToken),
      memberships: NO_MEMBERSHIPS,
    }),
  }

  const routes = new Hono()
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
</form>`
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
      try {
        await countSignIn(c)
      } catch (error) {
        throw error instanceof RateLimited ? new AuthorizationErrorPage(error) : error
      }
      const code = newSecret()
      await store.put(
        keys.developmentLoginCode(hashSecret(code)),
        JSON.stringify({ login, codeChallenge }),
        {
          ttlSeconds: CODE_TTL_SECONDS,
        }
      )
      const callback = new URL(`${issuer}/callback`)
      callback.search = new URLSearchParams({ code, state }).toString()
      return c.body(null, 302, { Location: callback.href, 'Cache-Control': 'no-store' })
    })
  return { provider, routes }
}

function subjectOf(login: string): TokenSubject {
  // Never a number, so it can never collide with a GitHub user id.
  return { id: `dev-${login.toLowerCase()}`, login: login.toLowerCase() }
}
