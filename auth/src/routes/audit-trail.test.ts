import { beforeEach, describe, expect, it } from 'vitest'
import {
  auditLines,
  registerClient,
  TEST_ISSUER,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import type { FakeGitHub } from '../../../tests/support/fake-github.ts'
import {
  ALICE_AUDITED,
  authorizeUrl,
  browserFor,
  exchangeCode,
  newPkce,
  obtainCode,
  passReuseGrace,
  type RegisteredClient,
  registerTestClient,
  tokenRequest,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { keys } from '../store/keys.ts'

/** What the store's audit stream holds, oldest first. */
async function streamed(server: TestAuthServer): Promise<Record<string, unknown>[]> {
  const entries = await server.store.readStream(keys.auditTrail(), 1_000)
  return entries.map((e) => JSON.parse(e.entry) as Record<string, unknown>).reverse()
}

describe('the audit trail of the OAuth endpoints', () => {
  let github: FakeGitHub
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice', TRUST_PROXY: 'true' }, (fixture) => {
    ;({ github, server } = fixture)
  })
  beforeEach(async () => {
    server.logs.length = 0
    await server.store.delete(keys.auditTrail())
  })

  const named = (client: RegisteredClient) => ({
    client_id: client.client_id,
    client_name: 'Audited client',
  })

  it('records tokens issued, refreshed, a reused refresh token and a replayed code', async () => {
    const client = await registerTestClient(server, { client_name: 'Audited client' })
    const { code, pkce } = await obtainCode(server, client)
    const first = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    const refresh = (refreshToken: string) =>
      tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: refreshToken })
    const second = (await (await refresh(first.refresh_token ?? '')).json()) as Record<
      string,
      string
    >
    await passReuseGrace(server, first.refresh_token ?? '')
    expect((await refresh(first.refresh_token ?? '')).status).toBe(400)
    const another = await obtainCode(server, client)
    expect((await exchangeCode(server, client, another.code, another.pkce)).status).toBe(200)
    expect((await exchangeCode(server, client, another.code, another.pkce)).status).toBe(400)

    const lines = auditLines(server).filter((line) =>
      /^(token|refresh_token|authorization_code)\./.test(String(line.event))
    )
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'token.issued',
        ...ALICE_AUDITED,
        ...named(client),
        grant_type: 'authorization_code',
        scope: 'mcp',
        family_id: expect.any(String),
      }),
      expect.objectContaining({ event: 'token.refreshed', ...ALICE_AUDITED, ...named(client) }),
      expect.objectContaining({
        event: 'refresh_token.reuse_detected',
        ...ALICE_AUDITED,
        ...named(client),
      }),
      expect.objectContaining({ event: 'token.issued', ...ALICE_AUDITED, ...named(client) }),
      expect.objectContaining({
        event: 'authorization_code.reuse_detected',
        ...ALICE_AUDITED,
        ...named(client),
      }),
    ])
    const families = lines.map((line) => line.family_id)
    expect(new Set(families.slice(0, 3)).size).toBe(1)
    expect(families[3]).not.toBe(families[0])
    expect(families[4]).toBe(families[3])
    for (const line of lines) expect(line.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

    // The same records, in order, in the stream `admin audit` reads; never a credential.
    const kept = await streamed(server)
    expect(kept.map((record) => record.event)).toEqual(auditLines(server).map((line) => line.event))
    const written = JSON.stringify([server.logs, kept])
    for (const secret of [
      code,
      another.code,
      pkce.verifier,
      first.access_token,
      first.refresh_token,
      second.access_token,
      second.refresh_token,
      client.client_secret,
      ...github.issuedTokens.map((token) => token.token),
    ]) {
      expect(secret && written.includes(secret)).toBeFalsy()
    }
  })
  it('records sign-ins and consents: given, remembered and denied', async () => {
    const client = await registerTestClient(server, { client_name: 'Audited client' })
    const browser = browserFor(server)
    await obtainCode(server, client, newPkce(), browser)
    // The same browser again: its session and the remembered consent skip every page.
    await obtainCode(server, client, newPkce(), browser)
    const stranger = browserFor(server)
    const redirectUri = client.redirect_uris[0] ?? ''
    const consent = await stranger.open(authorizeUrl(client, newPkce()), redirectUri)
    await stranger.submitConsent(consent, 'deny', redirectUri)

    const lines = auditLines(server).filter((line) =>
      /^(user|authorization)\./.test(String(line.event))
    )
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'user.signed_in',
        ...ALICE_AUDITED,
        ...named(client),
        flow: 'authorization_code',
        upstream: 'GitHub',
      }),
      expect.objectContaining({
        event: 'authorization.consent_given',
        ...ALICE_AUDITED,
        ...named(client),
        flow: 'authorization_code',
        scope: 'mcp',
        resource: [`${TEST_ISSUER}/echo/mcp`],
        remembered: false,
      }),
      expect.objectContaining({
        event: 'authorization.consent_given',
        ...ALICE_AUDITED,
        ...named(client),
        remembered: true,
      }),
      expect.objectContaining({
        event: 'authorization.consent_denied',
        ...named(client),
        flow: 'authorization_code',
      }),
    ])
    expect(lines[3]).not.toHaveProperty('user_id')
  })

  it('records registration, revocations, update and deletion, each with its caller', async () => {
    const from = { 'X-Forwarded-For': '198.51.100.7, 203.0.113.20' }
    const metadata = {
      client_name: 'Audited client',
      redirect_uris: ['https://client.example.com/callback'],
      token_endpoint_auth_method: 'client_secret_post',
    }
    const registration = (await (await registerClient(server, metadata, from)).json()) as Record<
      string,
      string
    > & { redirect_uris: string[] }
    const client = registration as unknown as RegisteredClient
    const { code, pkce } = await obtainCode(server, client)
    const tokens = (await (await exchangeCode(server, client, code, pkce)).json()) as Record<
      string,
      string
    >
    const revoke = (token: string) =>
      server.request('/revoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...from },
        body: new URLSearchParams({
          client_id: client.client_id,
          client_secret: client.client_secret ?? '',
          token,
        }).toString(),
      })
    expect((await revoke(tokens.access_token ?? '')).status).toBe(200)
    expect((await revoke(tokens.refresh_token ?? '')).status).toBe(200)
    const manage = (method: string, body?: unknown) =>
      server.request(`/register/${client.client_id}`, {
        method,
        headers: {
          Authorization: `Bearer ${registration.registration_access_token}`,
          'Content-Type': 'application/json',
          ...from,
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
    const renamed = { client_id: client.client_id, ...metadata, client_name: 'Renamed client' }
    expect((await manage('PUT', renamed)).status).toBe(200)
    expect((await manage('DELETE')).status).toBe(204)

    const lines = auditLines(server).filter((line) => /^(client|token)\./.test(String(line.event)))
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'client.registered',
        ...named(client),
        redirect_uris: metadata.redirect_uris,
        token_endpoint_auth_method: 'client_secret_post',
      }),
      expect.objectContaining({ event: 'token.issued' }),
      expect.objectContaining({
        event: 'token.revoked',
        ...ALICE_AUDITED,
        ...named(client),
        by: 'client',
        token_type: 'access_token',
        jti: expect.any(String),
      }),
      expect.objectContaining({
        event: 'token.revoked',
        ...ALICE_AUDITED,
        ...named(client),
        by: 'client',
        token_type: 'refresh_token',
      }),
      expect.objectContaining({
        event: 'client.updated',
        client_id: client.client_id,
        client_name: 'Renamed client',
      }),
      expect.objectContaining({
        event: 'client.deleted',
        client_id: client.client_id,
        client_name: 'Renamed client',
        by: 'client',
      }),
    ])
    // The proxy's entry, the last one: the first is whatever the client claimed.
    expect(lines.map((line) => line.caller)).toEqual([
      '203.0.113.20',
      'unknown',
      '203.0.113.20',
      '203.0.113.20',
      '203.0.113.20',
      '203.0.113.20',
    ])
    const written = JSON.stringify([server.logs, await streamed(server)])
    for (const secret of [
      registration.registration_access_token,
      registration.client_secret,
      tokens.access_token,
      tokens.refresh_token,
    ]) {
      expect(secret && written.includes(secret)).toBeFalsy()
    }
  })
})
