import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { keepScreenshot, launchChromium } from '../support/chromium.ts'
import { type GitHubGateway, startGitHubGateway } from '../support/github-gateway.ts'
import { newPkce, type RegisteredClient } from '../support/oauth-flow.ts'
import { type RedirectTarget, startRedirectTarget } from '../support/redirect-target.ts'

interface Tokens {
  readonly access_token: string
  readonly refresh_token: string
}

/**
 * The connected-apps page in headless Chromium against the standalone gateway process (fake
 * GitHub, real Redis or the memory store as the gateway starts): two applications connected in
 * the browser, one revoked with its button; its next MCP request is refused, the other's goes on.
 */
describe('the connected-apps page (/account) in headless Chromium', () => {
  let env: GitHubGateway
  let target: RedirectTarget
  let browser: Browser
  let context: BrowserContext
  let page: Page

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
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 720, height: 900 } })
    page = await context.newPage()
    target.received.length = 0
  })
  afterEach(async () => {
    await context.close()
  })

  /** Approves a new client in the browser (signing in at the fake GitHub) and redeems its code. */
  const connect = async (name: string): Promise<{ client: RegisteredClient; tokens: Tokens }> => {
    const client = await env.register({
      client_name: name,
      redirect_uris: [target.callbackUrl],
      token_endpoint_auth_method: 'none',
    })
    const pkce = newPkce()
    await page.goto(
      `${env.gateway.url}/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: target.callbackUrl,
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
        state: 'account-state',
        resource: `${env.gateway.url}/echo/mcp`,
      })}`
    )
    await page.getByRole('button', { name: 'Approve' }).click()
    await page.waitForURL((url) => url.href.startsWith(target.callbackUrl))
    const code = target.received.at(-1)?.get('code') ?? ''
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
    return { client, tokens: (await response.json()) as Tokens }
  }

  /** An MCP request through the gateway's guarded `/echo/mcp`, as the application would send. */
  const mcpStatus = async (accessToken: string) => {
    const response = await fetch(`${env.gateway.url}/echo/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${accessToken}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'account-test', version: '1.0.0' },
        },
      }),
    })
    await response.body?.cancel()
    return response.status
  }

  it('lists two apps; revoking one with its button stops its MCP requests within a second', async () => {
    const first = await connect('Revoked <i>Client</i>')
    const second = await connect('Kept Client')
    expect(await mcpStatus(first.tokens.access_token)).toBe(200)
    expect(await mcpStatus(second.tokens.access_token)).toBe(200)

    await page.goto(`${env.gateway.url}/account`)
    expect(await page.locator('#signed-in-as').textContent()).toBe('alice')
    const names = await page.locator('section.app .app-name').allTextContents()
    expect(names).toEqual(expect.arrayContaining(['Kept Client', 'Revoked <i>Client</i>']))
    expect(await page.locator('section.app i').count()).toBe(0)
    expect(await page.locator('a').count()).toBe(0)

    await page.getByRole('button', { name: 'Revoke Revoked <i>Client</i>' }).click()
    await page.waitForSelector('#notice')
    expect(page.url()).toBe(`${env.gateway.url}/account`)
    const revokedAt = Date.now()
    expect(await page.locator('#notice').textContent()).toContain('Access revoked')
    const left = await page.locator('section.app .app-name').allTextContents()
    expect(left).toContain('Kept Client')
    expect(left).not.toContain('Revoked <i>Client</i>')

    // The revocation was written before the page came back; /verify believes a "not revoked"
    // answer for at most one second, so any request sent a second later is refused.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - Date.now())))
    expect(await mcpStatus(first.tokens.access_token)).toBe(401)
    expect(await mcpStatus(second.tokens.access_token)).toBe(200)
    const refresh = await fetch(`${env.gateway.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: first.client.client_id,
        refresh_token: first.tokens.refresh_token,
      }),
    })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('cannot be framed by another origin', async () => {
    await connect('Framed Client')
    const accountUrl = `${env.gateway.url}/account`
    await page.goto(`${target.origin}/frame?src=${encodeURIComponent(target.callbackUrl)}`)
    await expect
      .poll(() => page.frame('embedded')?.locator('#client-landing').count() ?? -1, {
        timeout: 10_000,
      })
      .toBe(1)

    await page.goto(`${target.origin}/frame?src=${encodeURIComponent(accountUrl)}`)
    // Under load the refused frame can be attached (with its error page) just after `load`.
    await expect
      .poll(() => page.frame('embedded')?.url() ?? '', { timeout: 10_000 })
      .toMatch(/^chrome-error:/)
    const frame = page.frame('embedded')
    expect(await frame?.locator('button').count()).toBe(0)
    const response = await fetch(accountUrl)
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(response.headers.get('x-frame-options')).toBe('DENY')
  })

  it('refuses a revoke posted by a page of another site; the app keeps working', async () => {
    const { client, tokens } = await connect('Targeted Client')
    await page.goto(`${env.gateway.url}/account`)
    expect(await page.locator('section.app .app-name').allTextContents()).toContain(
      'Targeted Client'
    )
    const csrfToken = await page.locator('input[name="csrf_token"]').first().inputValue()

    // Even with a token of the page in hand, the forged form is refused: it comes with another
    // Origin, and without the SameSite cookies (localhost and 127.0.0.1 are different sites).
    await page.goto(
      `${target.origin}/auto-post?${new URLSearchParams({
        action: `${env.gateway.url}/account/revoke`,
        csrf_token: csrfToken,
        kind: 'app',
        id: client.client_id,
      })}`
    )
    await page.waitForURL(`${env.gateway.url}/account/revoke`)
    expect(await page.locator('main').textContent()).toContain('did not come from this gateway')

    await page.goto(`${env.gateway.url}/account`)
    expect(await page.locator('section.app .app-name').allTextContents()).toContain(
      'Targeted Client'
    )
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expect(await mcpStatus(tokens.access_token)).toBe(200)
  })

  it('lets its forms post only to the gateway: a form aimed elsewhere is stopped, sign-out works', async () => {
    await connect('Form Client')
    await page.goto(`${env.gateway.url}/account`)
    const landings = target.received.length
    // A form another site's markup could have put here, had any escaped; the page's policy
    // (form-action) is what stops it, so the browser must refuse to send it.
    const refused = page.waitForEvent('console', (message) =>
      message.text().includes('form-action')
    )
    await page.evaluate(`(() => {
      const form = document.createElement('form')
      form.method = 'post'
      form.action = ${JSON.stringify(target.callbackUrl)}
      document.body.append(form)
      form.submit()
    })()`)
    await refused
    expect(page.url()).toBe(`${env.gateway.url}/account`)
    expect(target.received.length).toBe(landings)

    await page.goto(`${env.gateway.url}/account`)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${env.gateway.url}/account`)
    await page.getByRole('button', { name: 'Sign in with GitHub' }).waitFor()
  })

  it('looks right (screenshot for the docs: UPDATE_SCREENSHOTS=1)', async () => {
    await connect('Claude')
    await page.goto(`${env.gateway.url}/account`)
    const image = await page.screenshot({ fullPage: true })
    expect(image.byteLength).toBeLessThan(300_000)
    await keepScreenshot('account-page.png', image)
  })
})
