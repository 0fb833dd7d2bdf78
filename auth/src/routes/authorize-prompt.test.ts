import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  signInInBrowser,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'

/** A client asking for the page (OpenID Connect's `prompt`) gets it, remembered consent or not. */
describe('/authorize with prompt', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
  })

  const authorizeWith = async (prompt: string | undefined) => {
    const browser = browserFor(server)
    const { client } = await signInInBrowser(server, browser)
    const redirectUri = client.redirect_uris[0] ?? ''
    const extra = prompt === undefined ? {} : { prompt }
    return browser.open(authorizeUrl(client, newPkce(), extra), redirectUri)
  }

  it('gives a code at once from a remembered consent without prompt, or with prompt=none', async () => {
    for (const prompt of [undefined, 'none']) {
      const page = await authorizeWith(prompt)
      expect(new URL(page.url).searchParams.get('code'), String(prompt)).toBeTruthy()
    }
  })

  it.each(['consent', 'login', 'login consent'])(
    'shows the consent page for prompt=%s',
    async (prompt) => {
      const page = await authorizeWith(prompt)
      expect(new URL(page.url).searchParams.get('code')).toBeNull()
      expect(page.body).toContain('name="decision"')
    }
  )
})
