import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { systemClock } from '../clock.ts'
import {
  AuthorizationErrorRedirect,
  InvalidRequest,
  InvalidToken,
  type OAuthError,
} from '../errors.ts'
import { createLogger } from '../logger.ts'
import { toAuthorizationErrorResponse } from '../pages/authorization-error-response.ts'
import { errorLogs, MAX_DESCRIPTION_LENGTH, toOAuthResponse } from './error-response.ts'

const silentLogs = errorLogs(createLogger('silent'), 0, systemClock)

/** RFC 6749 §5.2: the characters `error_description` may hold. */
const DESCRIPTION_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** An app whose one endpoint fails with `error`, answered as every endpoint's errors are. */
function failingWith(error: OAuthError): Hono {
  return new Hono()
    .get('/', () => {
      throw error
    })
    .onError((thrown, c) => toOAuthResponse(thrown, c, silentLogs))
}

describe('error descriptions as they leave the server (RFC 6749 §5.2)', () => {
  const echoed = 'the value "a\\b"\r\nSet-Cookie: x=1\u0000 pässwörd \u202egpj.exe 👍'

  it('keeps the message but replaces each character a description may not hold', async () => {
    const response = await failingWith(new InvalidRequest(echoed)).request('/')
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: "the value 'a?b'??Set-Cookie: x=1? p?ssw?rd ?gpj.exe ?",
    })
  })

  it('puts the same text in a bearer challenge, which a quote would otherwise end', async () => {
    const response = await failingWith(new InvalidToken(echoed)).request('/')
    expect(response.status).toBe(401)
    const challenge = response.headers.get('www-authenticate') ?? ''
    const description = /error_description="([^"]*)"/.exec(challenge)?.[1]
    expect(description).toBe("the value 'a?b'??Set-Cookie: x=1? p?ssw?rd ?gpj.exe ?")
    expect(challenge).toBe(`Bearer error="invalid_token", error_description="${description}"`)
  })

  it('sends the same text back to the client in an authorization error redirect', async () => {
    const redirect = new AuthorizationErrorRedirect(
      new InvalidRequest(echoed),
      'https://client.example/cb',
      'state'
    )
    const app = new Hono()
      .get('/authorize', () => {
        throw redirect
      })
      .onError((_, c) =>
        toAuthorizationErrorResponse(redirect, c, 'https://gw.example', silentLogs)
      )
    const response = await app.request('/authorize')
    expect(response.status).toBe(302)
    const location = new URL(response.headers.get('location') ?? '')
    expect(location.searchParams.get('error_description')).toBe(
      "the value 'a?b'??Set-Cookie: x=1? p?ssw?rd ?gpj.exe ?"
    )
  })

  it('bounds its length, whatever it came to hold', async () => {
    const response = await failingWith(new InvalidRequest(`x${'y'.repeat(30_000)}z`)).request('/')
    const { error_description: description } = (await response.json()) as {
      error_description: string
    }
    expect(description).toHaveLength(MAX_DESCRIPTION_LENGTH)
    expect(description).toMatch(DESCRIPTION_TEXT)
    expect(description).toMatch(/^xyy+\.\.\.$/)
  })

  it('leaves a description written in its characters as it is', async () => {
    const written =
      "redirect_uris: 'myapp://cb' must not use port 0 (see RFC 8252 section 7.3) <-> [ok]"
    const response = await failingWith(new InvalidRequest(written)).request('/')
    expect(((await response.json()) as Record<string, string>).error_description).toBe(written)
  })
})
