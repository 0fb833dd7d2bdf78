import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { browserFor } from '../../../tests/support/oauth-flow.ts'

/** The standalone demo has no GitHub: `/account` signs in through the development sign-in. */
describe('/account with the development sign-in', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ ALLOWED_GITHUB_USERS: 'demo' })
  })
  afterAll(async () => {
    await server.close()
  })

  it('signs in through the development sign-in and comes back to the page', async () => {
    const browser = browserFor(server)
    const signIn = await browser.open(`${TEST_ISSUER}/account`, 'about:')
    expect(signIn.body).toContain('Sign in with the development sign-in')
    const loginPage = await browser.submitForm(signIn, {}, 'about:')
    expect(loginPage.url).toContain('/dev-login?')
    const page = await browser.submitForm(loginPage, { login: 'demo' }, 'about:')
    expect(page.url).toBe(`${TEST_ISSUER}/account`)
    expect(page.body).toContain('<strong id="signed-in-as">demo</strong>')
    expect(page.body).toContain('<p id="no-apps">None.</p>')
  })

  it('shows someone the allow-list refuses the error page, and keeps no session', async () => {
    const browser = browserFor(server)
    const signIn = await browser.open(`${TEST_ISSUER}/account`, 'about:')
    const loginPage = await browser.submitForm(signIn, {}, 'about:')
    const refused = await browser.submitForm(loginPage, { login: 'intruder' }, 'about:')
    expect(refused.response.status).toBe(400)
    expect(refused.body).toContain('intruder is not allowed to use this gateway')
    const again = await browser.open(`${TEST_ISSUER}/account`, 'about:')
    expect(again.body).toContain('action="/account/sign-in"')
  })
})
