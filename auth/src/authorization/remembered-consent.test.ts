import { describe, expect, it } from 'vitest'
import type { ClientRecord } from '../clients/client-registry.ts'
import { asksEveryTime } from './remembered-consent.ts'

/** A client record as far as the decision reads it. */
const client = (clientId: string, authMethod: string) =>
  ({ client_id: clientId, metadata: { token_endpoint_auth_method: authMethod } }) as ClientRecord

describe('whether a remembered consent may stand for a request (RFC 8252 §8.6)', () => {
  const registered = client('Reg1stered', 'none')
  const confidential = client('C0nfidential', 'client_secret_basic')
  const document = client('https://app.example.com/client.json', 'none')

  it('lets it stand for redirects that only the client can receive', () => {
    expect(asksEveryTime(registered, 'https://app.example.com/cb')).toBe(false)
    expect(asksEveryTime(confidential, 'http://127.0.0.1:8080/cb')).toBe(false)
    expect(asksEveryTime(document, 'https://app.example.com/cb')).toBe(false)
  })

  it('asks every time when any program on this computer could receive the code', () => {
    expect(asksEveryTime(registered, 'http://127.0.0.1:8080/cb')).toBe(true)
    expect(asksEveryTime(registered, 'http://localhost/cb')).toBe(true)
    expect(asksEveryTime(registered, 'com.example.app:/cb')).toBe(true)
  })

  it('asks every time for a page relaying the code to this computer, however spelled, for any client', () => {
    for (const relay of [
      'https://vscode.dev/redirect',
      'https://VSCODE.dev:443/redirect/',
      'https://insiders.vscode.dev/redirect?x=1',
    ]) {
      expect(asksEveryTime(registered, relay), relay).toBe(true)
      expect(asksEveryTime(confidential, relay), relay).toBe(true)
    }
  })

  it("asks every time when a metadata document's redirect leaves the host that published it", () => {
    expect(asksEveryTime(document, 'https://elsewhere.example.net/cb')).toBe(true)
    expect(asksEveryTime(document, 'http://127.0.0.1:9000/cb')).toBe(true)
  })
})
