import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestAuthServer,
  registerClient,
  type TestAuthServer,
} from '../../../tests/support/auth-app.ts'
import { disguised, HIDDEN_CHARACTERS, PLAIN_NAMES } from '../../../tests/support/display-text.ts'

/**
 * What a client registers is shown to people (consent, device and account pages): a name that
 * could pass for another application's name, or hide part of itself, is refused at the door.
 */
describe('POST /register and text a person reads', () => {
  let server: TestAuthServer
  beforeAll(async () => {
    server = await createTestAuthServer({ REGISTRATION_RATE_LIMIT: '10000' })
  })
  afterAll(() => server.close())

  const register = (metadata: Record<string, unknown>) =>
    registerClient(server, { redirect_uris: ['https://app.example/cb'], ...metadata })

  const refusal = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  })

  it.each(HIDDEN_CHARACTERS)('refuses a client_name with %s', async (_, character) => {
    expect(await refusal(await register({ client_name: disguised(character) }))).toEqual({
      status: 400,
      body: {
        error: 'invalid_client_metadata',
        error_description: 'client_name: must be plain text',
      },
    })
  })

  it.each(PLAIN_NAMES)('accepts the name %s as it was sent', async (name) => {
    const response = await register({ client_name: name })
    expect(response.status).toBe(201)
    expect(((await response.json()) as Record<string, unknown>).client_name).toBe(name)
  })

  it.each([
    ['contacts', { contacts: [`ops${'\u200b'}@example.com`] }, 'contacts.0: must be plain text'],
    ['software_id', { software_id: disguised('\u2060') }, 'software_id: must be plain text'],
    [
      'software_version',
      { software_version: `1.0${'\u3164'}` },
      'software_version: must be plain text',
    ],
    [
      'client_uri',
      { client_uri: 'https://app.example/\u202egpj.exe' },
      'client_uri: must be plain text',
    ],
  ])('refuses the same characters in %s', async (_, metadata, description) => {
    expect(await refusal(await register(metadata))).toEqual({
      status: 400,
      body: { error: 'invalid_client_metadata', error_description: description },
    })
  })

  it('refuses them in a redirect URI, which the consent page shows as written', async () => {
    const uri = 'myapp://callback/\u202elanimret'
    expect(await refusal(await registerClient(server, { redirect_uris: [uri] }))).toEqual({
      status: 400,
      body: {
        error: 'invalid_redirect_uri',
        // Not quoted back: a value that is not one visible word (RFC 6749 §5.2 characters).
        error_description:
          'redirect_uris: a value of another shape (not shown) must not contain invisible or formatting characters',
      },
    })
  })

  it('refuses them when a registration is updated (RFC 7592)', async () => {
    const created = (await (await register({ client_name: 'Before' })).json()) as Record<
      string,
      string
    >
    const response = await server.request(`/register/${created.client_id}`, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${created.registration_access_token}`,
      },
      body: JSON.stringify({
        client_id: created.client_id,
        redirect_uris: ['https://app.example/cb'],
        client_name: disguised('\u200b'),
      }),
    })
    expect((await refusal(response)).body.error).toBe('invalid_client_metadata')
  })
})
