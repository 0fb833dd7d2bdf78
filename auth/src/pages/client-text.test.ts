import { describe, expect, it } from 'vitest'
import type { TestAuthServer } from '../../../tests/support/auth-app.ts'
import {
  authorizeUrl,
  browserFor,
  newPkce,
  registerTestClient,
  useFlowServer,
} from '../../../tests/support/oauth-flow.ts'
import { keys } from '../store/keys.ts'
import { shownClientText } from './client-text.ts'

describe('text a client chose, on the pages', () => {
  let server: TestAuthServer
  useFlowServer({ ALLOWED_GITHUB_USERS: 'alice' }, (fixture) => {
    ;({ server } = fixture)
  })

  it('keeps plain names and leaves out disguised ones', () => {
    expect(shownClientText('Claude')).toBe('Claude')
    expect(shownClientText('Café ☕ 日本')).toBe('Café ☕ 日本')
    expect(shownClientText('Cla\u200Bude')).toBeUndefined()
    expect(shownClientText('\u202Eedualc')).toBeUndefined()
    expect(shownClientText(undefined)).toBeUndefined()
  })

  it('a registration stored before the rule shows as unnamed, its disguised name and URI nowhere', async () => {
    const client = await registerTestClient(server, { client_uri: 'https://client.example.com' })
    // As a record written before the plain-text rule refused these characters would be.
    const key = keys.client(client.client_id)
    const stored = JSON.parse((await server.store.get(key)) ?? '{}')
    const disguisedName = 'Clau\u200Bde'
    const disguisedUri = 'https://cla\u00ADude.example'
    await server.store.put(
      key,
      JSON.stringify({
        ...stored,
        metadata: { ...stored.metadata, client_name: disguisedName, client_uri: disguisedUri },
      })
    )
    const page = await browserFor(server).open(
      authorizeUrl(client, newPkce()),
      client.redirect_uris[0] ?? ''
    )
    expect(page.response.status, page.body.slice(0, 300)).toBe(200)
    expect(page.body).toContain('<span id="client-name">An unnamed application</span>')
    expect(page.body).not.toContain(disguisedName)
    expect(page.body).not.toContain(disguisedUri)
  })
})
