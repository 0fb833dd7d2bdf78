import { expect } from 'vitest'
import { TEST_ISSUER } from './auth-app.ts'
import type { HeadlessBrowser } from './headless-browser.ts'

/**
 * Presses the Revoke button of the application `clientId` on the `/account` page `browser` is
 * signed in to, as a person would: the form as the page wrote it, CSRF token included.
 */
export async function revokeOnAccountPage(browser: HeadlessBrowser, clientId: string) {
  const page = await browser.open(`${TEST_ISSUER}/account`, 'about:')
  const form = [
    ...page.body.matchAll(/<form method="post" action="\/account\/revoke">([\s\S]*?)<\/form>/g),
  ]
    .map((match) => match[1] ?? '')
    .find(
      (inner) => inner.includes(`name="kind" value="app"`) && inner.includes(`value="${clientId}"`)
    )
  if (!form) throw new Error(`no revoke button for ${clientId}`)
  const fields = new URLSearchParams(
    [...form.matchAll(/name="([^"]*)" value="([^"]*)"/g)].map((m): [string, string] => [
      m[1] ?? '',
      m[2] ?? '',
    ])
  )
  const answer = await browser.open(`${TEST_ISSUER}/account/revoke`, 'about:', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: TEST_ISSUER },
    body: fields.toString(),
  })
  expect(answer.url).toBe(`${TEST_ISSUER}/account`)
  expect(answer.body).toContain('Access revoked.')
}
