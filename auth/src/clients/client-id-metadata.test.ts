import { describe, expect, it } from 'vitest'
import { PUBLISHED_DOCUMENTS } from '../../../tests/support/client-metadata-documents.ts'
import { disguised, HIDDEN_CHARACTERS, PLAIN_NAMES } from '../../../tests/support/display-text.ts'
import {
  clientFromMetadataDocument,
  clientIdUrlProblem,
  isClientIdUrl,
} from './client-id-metadata.ts'
import { MetadataDocumentError } from './metadata-document.ts'
import { matchRedirectUri } from './redirect-match.ts'

const URL_ID = 'https://app.example.com/oauth/client.json'
const valid = {
  client_id: URL_ID,
  client_name: 'Example',
  redirect_uris: ['https://app.example.com/callback'],
  token_endpoint_auth_method: 'none',
}

const problemOf = (document: unknown) => {
  try {
    clientFromMetadataDocument(URL_ID, document, 0)
  } catch (error) {
    expect(error).toBeInstanceOf(MetadataDocumentError)
    return (error as Error).message
  }
  throw new Error('the document was accepted')
}

describe('a client id that names a metadata document', () => {
  it('is told from a registered client id by its https scheme', () => {
    expect(isClientIdUrl(URL_ID)).toBe(true)
    expect(isClientIdUrl('Xc3f9e2b-1aZ_x')).toBe(false)
  })

  it.each(PUBLISHED_DOCUMENTS.map((d) => [d.client, d.url]))('accepts %s (%s)', (_, url) => {
    expect(clientIdUrlProblem(url)).toBeUndefined()
  })

  it.each([
    ['http://app.example.com/client.json', 'must start with https://'],
    ['https://app.example.com/', 'must have a path'],
    ['https://app.example.com', 'must have a path'],
    ['https://app.example.com/c.json#x', 'must not contain a fragment'],
    ['https://user:pw@app.example.com/c.json', 'must not contain user information'],
    ['https://APP.example.com/c.json', 'must be in normalized form (as a URL parser writes it)'],
    [
      'https://app.example.com:443/c.json',
      'must be in normalized form (as a URL parser writes it)',
    ],
    [
      'https://app.example.com/a/../c.json',
      'must be in normalized form (as a URL parser writes it)',
    ],
    [`https://app.example.com/${'a'.repeat(1100)}`, 'is too long'],
  ])('refuses %s: %s', (url, problem) => {
    expect(clientIdUrlProblem(url)).toBe(problem)
  })
})

describe('the client a metadata document describes', () => {
  it.each(PUBLISHED_DOCUMENTS.map((d) => [d.client, d] as const))(
    '%s: accepted as published, a public client of the code and refresh grants',
    (_, published) => {
      const client = clientFromMetadataDocument(
        published.url,
        { ...published.document, client_id: published.url },
        1_800_000_000
      )
      expect(client).toMatchObject({
        client_id: published.url,
        client_id_issued_at: 1_800_000_000,
        metadata: {
          client_name: published.document.client_name,
          redirect_uris: published.document.redirect_uris,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      })
      expect(client.client_secret_hash).toBeUndefined()
      expect(client.registration_access_token_hash).toBeUndefined()
      // The redirect URI the client really sends matches one it lists (loopback: any port).
      expect(matchRedirectUri(published.redirectUri, client.metadata.redirect_uris)).toBeDefined()
    }
  )

  it('keeps client_uri only on the document host', () => {
    const here = clientFromMetadataDocument(
      URL_ID,
      { ...valid, client_uri: 'https://app.example.com/about' },
      0
    )
    const elsewhere = clientFromMetadataDocument(
      URL_ID,
      { ...valid, client_uri: 'https://bank.example/' },
      0
    )
    expect(here.metadata.client_uri).toBe('https://app.example.com/about')
    expect(elsewhere.metadata.client_uri).toBeUndefined()
  })

  it('leaves out redirect URIs the gateway would never use, keeping the others', () => {
    const client = clientFromMetadataDocument(
      URL_ID,
      {
        ...valid,
        redirect_uris: [
          'javascript:alert(1)',
          'http://evil.example/cb',
          'https://app.example.com/cb',
        ],
      },
      0
    )
    expect(client.metadata.redirect_uris).toEqual(['https://app.example.com/cb'])
  })

  it.each([
    ['not an object', [valid], 'it is not a JSON object'],
    [
      'another client_id',
      { ...valid, client_id: 'https://app.example.com/other.json' },
      "it names another client_id (host 'app.example.com'), not its own URL",
    ],
    [
      'its URL with a trailing slash',
      { ...valid, client_id: `${URL_ID}/` },
      "it names another client_id (host 'app.example.com'), not its own URL",
    ],
    [
      'no client_id',
      { ...valid, client_id: undefined },
      'it names another client_id (not a URL), not its own URL',
    ],
    [
      'a sentence for client_id, which an error page must not show',
      { ...valid, client_id: 'Your account is locked. Call +1 555 0100 now' },
      'it names another client_id (not a URL), not its own URL',
    ],
    [
      'a sentence in the path of another client_id',
      { ...valid, client_id: 'https://app.example.com/SECURITY-ALERT:-Call-+1-800-555-0100-now' },
      "it names another client_id (host 'app.example.com'), not its own URL",
    ],
    [
      'a client secret',
      { ...valid, client_secret: 's3cret' },
      'it carries a client secret, which a public document must not',
    ],
    [
      'a secret-based auth method',
      { ...valid, token_endpoint_auth_method: 'client_secret_basic' },
      "it asks for token_endpoint_auth_method 'client_secret_basic'; this gateway accepts metadata-document clients that authenticate with none",
    ],
    [
      'private_key_jwt alone',
      { ...valid, token_endpoint_auth_method: 'private_key_jwt' },
      "it asks for token_endpoint_auth_method 'private_key_jwt'; this gateway accepts metadata-document clients that authenticate with none",
    ],
    [
      'no authorization_code grant',
      { ...valid, grant_types: ['urn:ietf:params:oauth:grant-type:device_code'] },
      'it does not ask for the authorization_code grant, the only one this gateway offers such clients',
    ],
    [
      'no redirect URIs',
      { ...valid, redirect_uris: [] },
      'it has no redirect_uris (a non-empty array of strings)',
    ],
    [
      'a sentence for the only redirect URI',
      { ...valid, redirect_uris: ['Your account is locked, call us'] },
      'it has no acceptable redirect URI (the first must not contain whitespace or wildcards)',
    ],
    [
      'only unusable redirect URIs',
      { ...valid, redirect_uris: ['http://evil.example/cb'] },
      'it has no acceptable redirect URI (the first may use http only on a loopback host (127.0.0.1, [::1], localhost))',
    ],
    [
      'a sentence in the path of the only redirect URI',
      { ...valid, redirect_uris: ['http://evil.example/SECURITY-ALERT:-Call-+1-800-555-0100'] },
      'it has no acceptable redirect URI (the first may use http only on a loopback host (127.0.0.1, [::1], localhost))',
    ],
    [
      'no client_name',
      { ...valid, client_name: undefined },
      'it has no client_name (plain text, at most 200 characters)',
    ],
    [
      'a disguised client_name',
      { ...valid, client_name: 'Claude\u202e' },
      'it has no client_name (plain text, at most 200 characters)',
    ],
  ])('refuses a document with %s', (_, document, problem) => {
    expect(problemOf(document)).toBe(problem)
  })

  it.each(HIDDEN_CHARACTERS)('refuses a document whose client_name has %s', (_, character) => {
    expect(problemOf({ ...valid, client_name: disguised(character) })).toBe(
      'it has no client_name (plain text, at most 200 characters)'
    )
  })

  it.each(PLAIN_NAMES)('takes the client_name %s as published', (name) => {
    const client = clientFromMetadataDocument(URL_ID, { ...valid, client_name: name }, 0)
    expect(client.metadata.client_name).toBe(name)
  })
})
