import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  browserFor,
  DEVICE_GRANT,
  type RegisteredClient,
  signInInBrowser,
  startDeviceAuthorization,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { USER_CODE_ENTRY_LIMITS } from '../routes/device.ts'

/**
 * The user's answer and the device's polling are each decided in one atomic step in Redis: of
 * concurrent answers (approve in one tab, deny in another) exactly one is recorded, and of
 * concurrent polls within one interval exactly one gets through the pacing.
 */
describe('device answers and polls under concurrency (real Redis)', () => {
  let server: TestAuthServer
  let github: FakeGitHub
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    server = fixture.server
    github = fixture.github
  })

  /** The code page and these answers are the ten code entries a signed-in user has a minute. */
  const ANSWERS = USER_CODE_ENTRY_LIMITS.perCaller - 1
  const poll = (client: RegisteredClient, deviceCode: string) =>
    tokenRequest(server, client, { grant_type: DEVICE_GRANT, device_code: deviceCode })
  const answerEvents = (from: number) =>
    server.logs
      .slice(from)
      .filter((line) =>
        ['authorization.consent_given', 'authorization.consent_denied'].includes(String(line.event))
      )

  type Decision = 'approve' | 'deny'
  it.each([
    ['approve and deny alternately', (i: number): Decision => (i % 2 === 0 ? 'approve' : 'deny')],
    ['approve in every tab', (): Decision => 'approve'],
  ] as const)('records exactly one of 9 concurrent answers (%s)', async (_case, decisionOf) => {
    // A fresh minute for the limit on the user's code entries.
    server.clock.advance(60_000)
    const browser = browserFor(server)
    await signInInBrowser(server, browser)
    const { cli, device } = await startDeviceAuthorization(server)
    const codePage = await browser.open(device.verification_uri_complete, 'about:')
    const consent = await browser.submitForm(codePage, { user_code: device.user_code }, 'about:')
    const logsBefore = server.logs.length

    const answers = await Promise.all(
      Array.from({ length: ANSWERS }, (_, i) =>
        browser.submitConsent(consent, decisionOf(i), 'about:')
      )
    )

    const recorded = answers.filter((answer) => answer.response.status === 200)
    expect(recorded).toHaveLength(1)
    const approved = recorded[0]?.body.includes('Device connected') ?? false
    expect(approved || recorded[0]?.body.includes('Device not connected')).toBe(true)
    for (const late of answers.filter((answer) => answer.response.status !== 200)) {
      expect(late.response.status).toBe(400)
      // Later than the recorded answer: the code is used up, or its record changed under it.
      expect(late.body).toMatch(/already answered or has expired|not valid or has expired/)
    }
    expect(answerEvents(logsBefore)).toEqual([
      expect.objectContaining({
        event: approved ? 'authorization.consent_given' : 'authorization.consent_denied',
      }),
    ])

    server.clock.advance(10_000)
    const polled = await poll(cli, device.device_code)
    if (approved) expect(polled.status).toBe(200)
    else expect(await polled.json()).toMatchObject({ error: 'access_denied' })
  })

  it('audits no consent for an approval that signs in after another tab answered', async () => {
    server.clock.advance(60_000)
    const { cli, device } = await startDeviceAuthorization(server)
    // Not signed in: the approval goes to GitHub first, and waits there.
    const approving = browserFor(server)
    const codePage = await approving.open(device.verification_uri_complete, 'about:')
    const consent = await approving.submitForm(codePage, { user_code: device.user_code }, 'about:')
    const atGitHub = await approving.submitConsent(consent, 'approve', github.env.GITHUB_BASE_URL)
    expect(atGitHub.url.startsWith(github.env.GITHUB_BASE_URL)).toBe(true)
    const logsBefore = server.logs.length

    const denying = browserFor(server)
    await signInInBrowser(server, denying)
    const denyCode = await denying.open(device.verification_uri_complete, 'about:')
    const denyConsent = await denying.submitForm(
      denyCode,
      { user_code: device.user_code },
      'about:'
    )
    const denied = await denying.submitConsent(denyConsent, 'deny', 'about:')
    expect(denied.body).toContain('Device not connected')

    const late = await approving.open(atGitHub.url, 'about:')
    expect(late.response.status).toBe(400)
    expect(late.body).toMatch(/already answered or has expired|not valid or has expired/)
    const deviceAnswers = answerEvents(logsBefore).filter((line) => line.flow === 'device')
    expect(deviceAnswers.map((line) => line.event)).toEqual(['authorization.consent_denied'])
    server.clock.advance(10_000)
    expect(await (await poll(cli, device.device_code)).json()).toMatchObject({
      error: 'access_denied',
    })
  })

  it('lets one of 50 concurrent polls through and slows down the rest, each adding 5 s', async () => {
    const { cli, device } = await startDeviceAuthorization(server)

    const polls = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await poll(cli, device.device_code)
        return ((await response.json()) as { error: string }).error
      })
    )

    expect(polls.filter((error) => error === 'authorization_pending')).toHaveLength(1)
    expect(polls.filter((error) => error === 'slow_down')).toHaveLength(49)
    // The interval is now 5 + 49 × 5 s: a poll 10 s later is still too early, one after it is not.
    server.clock.advance(10_000)
    expect(await (await poll(cli, device.device_code)).json()).toMatchObject({ error: 'slow_down' })
    server.clock.advance(255_001)
    expect(await (await poll(cli, device.device_code)).json()).toMatchObject({
      error: 'authorization_pending',
    })
  })
})
