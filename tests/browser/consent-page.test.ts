import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { keepScreenshot, launchChromium } from '../support/chromium.ts'
import { type GitHubGateway, startGitHubGateway } from '../support/github-gateway.ts'
import { newPkce, type Pkce, type RegisteredClient } from '../support/oauth-flow.ts'
import { type RedirectTarget, startRedirectTarget } from '../support/redirect-target.ts'

describe('the consent page in headless Chromium, against the gateway process', () => {
  let env: GitHubGateway
  let target: RedirectTarget
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let dialogs: string[]

  beforeAll(async () => {
    ;[env, target, browser] = await Promise.all([
      startGitHubGateway(),
      startRedirectTarget(),
      launchChromium(),
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await target?.close()
    await env?.stop()
  })
  // A fresh browser profile per test: no gateway session, so the consent page always shows.
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 720, height: 600 } })
    // Below the test's own timeout: a step that hangs fails naming itself, not the whole test.
    context.setDefaultTimeout(12_000)
    page = await context.newPage()
    dialogs = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    target.received.length = 0
  })
  afterEach(async () => {
    await context.close()
  })

  const register = (name: string, redirectUri = target.callbackUrl) =>
    env.register({
      client_name: name,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
    })

  const authorizeUrl = (client: RegisteredClient, pkce: Pkce, state = 'browser-state') =>
    `${env.gateway.url}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0] ?? '',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      state,
      resource: `${env.gateway.url}/echo/mcp`,
    })}`

  it('shows the client and where it returns to; Approve goes through GitHub back to the client', async () => {
    const client = await register('Browser Test Client')
    const pkce = newPkce()
    env.github.clearRequests()
    const shown = await page.goto(authorizeUrl(client, pkce))
    // The page itself when it is another: what a failure here needs to say.
    expect(shown?.status(), await page.content()).toBe(200)
    expect(await page.locator('#client-name').textContent()).toBe('Browser Test Client')
    expect(await page.locator('#redirect-host').textContent()).toContain(
      new URL(target.callbackUrl).host
    )
    expect(env.github.requests).toHaveLength(0)

    await page.getByRole('button', { name: 'Approve' }).click()
    await page.waitForURL((url) => url.href.startsWith(target.callbackUrl))
    expect(await page.locator('#client-landing').textContent()).toBe('Back at the client')
    expect(env.github.requests.some((r) => r.path === '/login/oauth/authorize')).toBe(true)

    const [query] = target.received
    expect(target.received).toHaveLength(1)
    expect(query?.get('state')).toBe('browser-state')
    expect(query?.get('iss')).toBe(env.gateway.url)
    const code = query?.get('code') ?? ''
    expect(code).not.toBe('')

    // The code the browser carried is good for tokens at the token endpoint.
    const response = await fetch(`${env.gateway.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: client.client_id,
        code,
        code_verifier: pkce.verifier,
        redirect_uri: target.callbackUrl,
      }),
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ token_type: 'Bearer', scope: 'mcp' })
  })

  it('takes no click or key on its buttons until 0.8 s after it is last shown or focused', async () => {
    const client = await register('Double Click Target')
    env.github.clearRequests()
    // The page's timers on a clock of the test's: the moment right after the page appears, for as
    // long as the test needs it, whatever the machine's speed.
    const start = Date.parse('2026-12-01T10:00:00Z')
    await page.clock.install({ time: start })
    await page.clock.pauseAt(start + 1_000)
    await page.goto(authorizeUrl(client, newPkce()))
    const approve = page.getByRole('button', { name: 'Approve' })
    // Where the button is now (Space scrolls the page), clicked as a mouse does, with no waiting.
    const clickApprove = async () => {
      const box = await approve.boundingBox()
      if (!box) throw new Error('no Approve button')
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    }
    const stillHere = async () => {
      await page.waitForTimeout(200)
      expect(page.url()).toContain('/authorize')
      expect(env.github.requests.some((r) => r.path === '/login/oauth/authorize')).toBe(false)
    }
    // A double-click's second click, and keys: Tab reaches no button, Enter presses nothing.
    await clickApprove()
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.keyboard.press('Space')
    await stillHere()
    // Tab with no control to reach leaves the page for the browser's own: back in the page.
    await page.evaluate('window.dispatchEvent(new Event("focus"))')
    await page.clock.runFor(1_000)
    expect(await approve.isEnabled()).toBe(true)

    // Left for another window (a popup opened over it): disabled for as long as it is not in front.
    await page.evaluate('window.dispatchEvent(new Event("blur"))')
    await page.clock.runFor(2_000)
    expect(await approve.isEnabled()).toBe(false)
    // Brought to the front again (the popup closed): armed again from there.
    await page.evaluate('window.dispatchEvent(new Event("focus"))')
    expect(await approve.isEnabled()).toBe(false)
    await clickApprove()
    await stillHere()
    await page.clock.runFor(1_000)
    expect(await approve.isEnabled()).toBe(true)
    // Time flows again for the pages the approval goes through. The buttons' arming animation
    // runs on the browser's own time, which the test's clock does not move: a loaded machine may
    // still be within its 0.8 s, where a click is not taken.
    await page.clock.resume()
    await page.waitForTimeout(1_000)
    await clickApprove()
    await page.waitForURL((url) => url.href.startsWith(target.callbackUrl))
  })

  it('Deny returns access_denied with state and iss, without visiting GitHub', async () => {
    const client = await register('Denied Client')
    env.github.clearRequests()
    await page.goto(authorizeUrl(client, newPkce(), 'deny-state'))
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.waitForURL((url) => url.href.startsWith(target.callbackUrl))

    const [query] = target.received
    expect(query?.get('error')).toBe('access_denied')
    expect(query?.get('state')).toBe('deny-state')
    expect(query?.get('iss')).toBe(env.gateway.url)
    expect(query?.has('code')).toBe(false)
    expect(env.github.requests).toHaveLength(0)
  })

  it('two consent tabs, and a gateway page another site opens between: each tab still answers', async () => {
    const [first, second] = await Promise.all([register('First Tab'), register('Second Tab')])
    await page.goto(authorizeUrl(first, newPkce(), 'first-state'))
    const other = await context.newPage()
    await other.goto(authorizeUrl(second, newPkce(), 'second-state'))
    // A third tab on the gateway, as a link on another site would open it.
    const third = await context.newPage()
    await third.goto(`${env.gateway.url}/account`)

    for (const [tab, state] of [
      [page, 'first-state'],
      [other, 'second-state'],
    ] as const) {
      await tab.getByRole('button', { name: 'Deny' }).click()
      await tab.waitForURL((url) => url.href.startsWith(target.callbackUrl))
      const query = target.received.find((q) => q.get('state') === state)
      expect(query?.get('error'), state).toBe('access_denied')
    }
  })

  it('Deny denies even when the link carries decision=approve; nothing is remembered', async () => {
    const client = await register('Tampered Link Client')
    env.github.clearRequests()
    await page.goto(`${authorizeUrl(client, newPkce(), 'tampered-state')}&decision=approve`)
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.waitForURL((url) => url.href.startsWith(target.callbackUrl))
    const [query] = target.received
    expect(target.received).toHaveLength(1)
    expect(query?.get('error')).toBe('access_denied')
    expect(query?.get('state')).toBe('tampered-state')
    expect(query?.has('code')).toBe(false)
    expect(env.github.requests).toHaveLength(0)
    expect((await context.cookies()).some((cookie) => cookie.name.endsWith('session'))).toBe(false)

    // Signed in now (through another client), the denied one still asks: no consent was kept.
    await page.goto(authorizeUrl(await register('Another Client'), newPkce()))
    await page.getByRole('button', { name: 'Approve' }).click()
    await page.waitForURL((url) => url.href.startsWith(target.callbackUrl))
    expect((await context.cookies()).some((cookie) => cookie.name.endsWith('session'))).toBe(true)
    await page.goto(authorizeUrl(client, newPkce()))
    expect(await page.locator('#client-name').textContent()).toBe('Tampered Link Client')
    expect(await page.locator('#signed-in-as').textContent()).toBe('alice')
    expect(target.received).toHaveLength(2)
  })

  it('a request with a repeated parameter ends on the gateway’s error page, not at the client', async () => {
    const client = await register('Repeated Scope Client')
    const url = `${authorizeUrl(client, newPkce())}&scope=mcp&scope=admin`
    const response = await page.goto(url)
    expect(response?.status()).toBe(400)
    expect(page.url()).toBe(url)
    expect(await page.locator('main').textContent()).toContain('the scope parameter is repeated')
    expect(await page.getByRole('button').count()).toBe(0)
    expect(target.received).toHaveLength(0)
  })

  it('renders a client name made of markup as text: no script element, no dialog', async () => {
    const name = '<script>alert(1)</script>'
    const client = await register(name)
    await page.goto(authorizeUrl(client, newPkce()))
    expect(await page.locator('#client-name').textContent()).toBe(name)
    expect(await page.title()).toBe(`Allow ${name}?`)
    // The page's own script (with its nonce) and no other.
    expect(await page.locator('script').count()).toBe(1)
    expect(await page.locator('script[nonce]').count()).toBe(1)
    expect(await page.content()).not.toContain('<script>alert')
    expect(dialogs).toEqual([])
  })

  it('cannot be framed by another origin', async () => {
    const client = await register('Framed Client')
    const consentUrl = authorizeUrl(client, newPkce())
    // Control: the same harness renders an ordinary page of another origin in its frame.
    await page.goto(`${target.origin}/frame?src=${encodeURIComponent(target.callbackUrl)}`)
    await expect
      .poll(() => page.frame('embedded')?.locator('#client-landing').count() ?? -1, {
        timeout: 10_000,
      })
      .toBe(1)

    await page.goto(`${target.origin}/frame?src=${encodeURIComponent(consentUrl)}`)
    // Under load the refused frame can be attached (with its error page) just after `load`.
    await expect
      .poll(() => page.frame('embedded')?.url() ?? '', { timeout: 10_000 })
      .toMatch(/^chrome-error:/)
    const frame = page.frame('embedded')
    expect(await frame?.locator('#client-name').count()).toBe(0)
    expect(await frame?.locator('button').count()).toBe(0)
    // The gateway does serve the page; the browser refuses to frame it because of these headers.
    const response = await fetch(consentUrl)
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(response.headers.get('x-frame-options')).toBe('DENY')
  })

  it('looks right (screenshot for the docs: UPDATE_SCREENSHOTS=1)', async () => {
    const client = await register('Claude', 'https://claude.ai/api/mcp/auth_callback')
    await page.goto(authorizeUrl(client, newPkce()))
    const image = await page.screenshot({ fullPage: true })
    expect(image.byteLength).toBeLessThan(100_000)
    await keepScreenshot('consent-page.png', image)
  })
})
