import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { manageClient } from '../../../tests/support/oauth-flow.ts'
import { hashSecret } from '../oauth/secrets.ts'

interface Registration {
  client_id: string
  client_secret?: string
  registration_access_token: string
  registration_client_uri: string
}

describe('RFC 7592 client configuration endpoint', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer()
  })
  afterAll(async () => {
    await server.close()
  })

  const register = async (body: Record<string, unknown> = {}) => {
    const response = await registerClient(server, {
      client_name: 'Managed',
      redirect_uris: ['https://app.example.com/cb'],
      token_endpoint_auth_method: 'client_secret_post',
      ...body,
    })
    return (await response.json()) as Registration
  }
  const manage = (
    client: Registration,
    init: RequestInit = {},
    token = client.registration_access_token
  ) => manageClient(server, client, init, token)

  it('reads the registration without revealing the secret', async () => {
    const client = await register()
    const response = await manage(client)
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({ client_id: client.client_id, client_name: 'Managed' })
    expect(body).not.toHaveProperty('client_secret')
    // RFC 7592 §3: required in the answer; the one presented, which stays valid.
    expect(body.registration_access_token).toBe(client.registration_access_token)
    expect(body.client_secret_expires_at).toBeTypeOf('number')
    expect((await manage(client)).status).toBe(200)
  })

  it('answers an unknown client and a wrong token identically', async () => {
    const client = await register()
    const wrongToken = await manage(client, {}, 'not-the-token')
    const unknownClient = await manage({
      ...client,
      registration_client_uri: 'http://localhost:8080/register/unknown-client',
    })
    for (const response of [wrongToken, unknownClient]) {
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
      expect(await response.json()).toEqual({
        error: 'invalid_token',
        error_description: 'the registration access token is not valid for this client',
      })
    }
    // RFC 6750 §3.1: no credentials at all, no error code in the challenge.
    const missing = await server.request(`/register/${client.client_id}`)
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toBe('Bearer')
    expect(await missing.json()).toEqual({
      error: 'invalid_token',
      error_description: 'a registration access token is required',
    })
  })

  it('refuses a malformed Authorization header with invalid_request', async () => {
    const client = await register()
    const response = await manage(client, { headers: { Authorization: 'Basic abc' } })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request')
  })

  it('replaces the metadata on PUT, validating like POST', async () => {
    const client = await register()
    const update = {
      client_id: client.client_id,
      client_secret: client.client_secret,
      client_name: 'Renamed',
      redirect_uris: ['https://app.example.com/other'],
      token_endpoint_auth_method: 'client_secret_post',
    }
    const response = await manage(client, { method: 'PUT', body: JSON.stringify(update) })
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      client_name: 'Renamed',
      redirect_uris: ['https://app.example.com/other'],
    })
    expect(body).not.toHaveProperty('client_secret')
    expect(body.registration_access_token).toBe(client.registration_access_token)

    const invalid = await manage(client, {
      method: 'PUT',
      body: JSON.stringify({ ...update, redirect_uris: ['javascript:alert(1)'] }),
    })
    expect(invalid.status).toBe(400)
    expect(((await invalid.json()) as { error: string }).error).toBe('invalid_redirect_uri')
    const stored = (await (await manage(client)).json()) as Record<string, unknown>
    expect(stored.client_name).toBe('Renamed')
  })

  it('refuses a PUT that names another client or repeats a wrong secret', async () => {
    const client = await register()
    const base = { redirect_uris: ['https://app.example.com/cb'] }
    for (const body of [
      { ...base },
      { ...base, client_id: 'someone-else' },
      { ...base, client_id: client.client_id, client_secret: 'wrong' },
    ]) {
      const response = await manage(client, { method: 'PUT', body: JSON.stringify(body) })
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: string }).error).toBe('invalid_client_metadata')
    }
  })

  it('issues a secret when a public client turns confidential, and never turns it public again', async () => {
    const client = await register({ token_endpoint_auth_method: 'none' })
    expect(client.client_secret).toBeUndefined()
    const confidential = await manage(client, {
      method: 'PUT',
      body: JSON.stringify({
        client_id: client.client_id,
        redirect_uris: ['https://app.example.com/cb'],
        token_endpoint_auth_method: 'client_secret_basic',
      }),
    })
    expect(((await confidential.json()) as Registration).client_secret).toMatch(/^[\w-]{43}$/)
    const publicAgain = await manage(client, {
      method: 'PUT',
      body: JSON.stringify({
        client_id: client.client_id,
        redirect_uris: ['https://app.example.com/cb'],
        token_endpoint_auth_method: 'none',
      }),
    })
    // Its refresh tokens would then refresh without a secret (RFC 9700 §4.14.2).
    expect(publicAgain.status).toBe(400)
    expect(await publicAgain.json()).toEqual({
      error: 'invalid_client_metadata',
      error_description:
        'a confidential client cannot become public: register a new client instead',
    })
    const stored = JSON.parse(
      (await server.store.get(`client:${client.client_id}`)) ?? '{}'
    ) as object
    expect(stored).toHaveProperty('client_secret_hash')
  })

  it('of concurrent updates that make a client confidential, one issues the secret: no answer shows a dead one', async () => {
    const client = await register({ token_endpoint_auth_method: 'none' })
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        manage(client, {
          method: 'PUT',
          body: JSON.stringify({
            client_id: client.client_id,
            redirect_uris: ['https://app.example.com/cb'],
            token_endpoint_auth_method: 'client_secret_basic',
          }),
        })
      )
    )
    expect(answers.map((answer) => answer.status)).toEqual(Array<number>(10).fill(200))
    const secrets = (await Promise.all(answers.map((answer) => answer.json())))
      .map((body) => (body as Registration).client_secret)
      .filter((secret) => secret !== undefined)
    expect(secrets).toHaveLength(1)
    const stored = JSON.parse((await server.store.get(`client:${client.client_id}`)) ?? '{}') as {
      client_secret_hash?: string
    }
    expect(stored.client_secret_hash).toBe(hashSecret(secrets[0] ?? ''))
  })

  it('keeps the registration lifetime across an update', async () => {
    const client = await register()
    const before = await server.store.ttl(`client:${client.client_id}`)
    await manage(client, {
      method: 'PUT',
      body: JSON.stringify({
        client_id: client.client_id,
        redirect_uris: ['https://app.example.com/cb'],
      }),
    })
    const after = await server.store.ttl(`client:${client.client_id}`)
    expect(after).toBeGreaterThan(0)
    expect(after).toBeLessThanOrEqual(before ?? 0)
  })

  it('deletes the client', async () => {
    const client = await register()
    expect((await manage(client, { method: 'DELETE' })).status).toBe(204)
    expect(await server.store.get(`client:${client.client_id}`)).toBeNull()
    expect((await manage(client)).status).toBe(401)
  })
})
