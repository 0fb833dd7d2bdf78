import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { matchRedirectUri } from '../clients/redirect-match.ts'
import { loadConfig } from '../config.ts'
import { isS256Challenge, verifierMatches } from './pkce.ts'
import { canonicalResource, resolveResources } from './resource.ts'
import { grantedScopes, isSubset, parseScope } from './scope.ts'

describe('PKCE (RFC 7636, S256 only)', () => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  it('matches the verifier of the challenge and nothing else', () => {
    expect(isS256Challenge(challenge)).toBe(true)
    expect(verifierMatches(verifier, challenge)).toBe(true)
    expect(verifierMatches(`${verifier}x`, challenge)).toBe(false)
    expect(verifierMatches(verifier, verifier)).toBe(false)
  })
  it('refuses verifiers outside 43–128 unreserved characters, even with their own challenge', () => {
    const s256 = (text: string) => createHash('sha256').update(text).digest('base64url')
    for (const bad of ['short', 'a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}!`]) {
      expect(verifierMatches(bad, s256(bad))).toBe(false)
    }
    for (const good of ['a'.repeat(43), 'a'.repeat(128), `${'a'.repeat(39)}-._~`]) {
      expect(verifierMatches(good, s256(good))).toBe(true)
    }
  })
})

describe('redirect URI matching', () => {
  it('is exact, except for the port of loopback redirects', () => {
    const registered = [
      'https://claude.ai/api/mcp/auth_callback',
      'http://127.0.0.1/cb',
      'http://localhost:6274/oauth/callback',
    ]
    expect(matchRedirectUri('https://claude.ai/api/mcp/auth_callback', registered)).toBe(
      'https://claude.ai/api/mcp/auth_callback'
    )
    expect(matchRedirectUri('https://claude.ai/api/mcp/auth_callback/', registered)).toBeUndefined()
    expect(matchRedirectUri('https://CLAUDE.ai/api/mcp/auth_callback', registered)).toBeUndefined()
    expect(matchRedirectUri('http://127.0.0.1:51000/cb', registered)).toBe('http://127.0.0.1/cb')
    expect(matchRedirectUri('http://localhost:9999/oauth/callback', registered)).toBe(
      'http://localhost:6274/oauth/callback'
    )
    expect(matchRedirectUri('http://127.0.0.1:51000/other', registered)).toBeUndefined()
    expect(matchRedirectUri('https://127.0.0.1:51000/cb', registered)).toBeUndefined()
    expect(matchRedirectUri('not a uri', registered)).toBeUndefined()
  })

  it('relaxes the loopback port only for a URI registration would accept as written', () => {
    const registered = ['http://localhost:1234/cb']
    expect(matchRedirectUri('http://localhost:5678/cb', registered)).toBe(registered[0])
    // Each of these parses to http://localhost:<port>/cb, but is not that URI as sent.
    for (const forgiven of [
      'http:localhost:5678/cb',
      'http:\\\\localhost:5678\\cb',
      'http://localhost:5678/c\tb',
      'http://localhost:5678/c\nb',
      ' http://localhost:5678/cb',
      'http://localhost:5678/cb\u0001',
      'http://localhost:0/cb',
    ]) {
      expect(matchRedirectUri(forgiven, registered), JSON.stringify(forgiven)).toBeUndefined()
    }
  })
})

describe('scopes', () => {
  const echo = { service: { requiredScopes: ['mcp'] }, toolScopes: ['echo:admin'] }
  const notes = { service: { requiredScopes: ['mcp', 'notes'] }, toolScopes: ['notes:write'] }
  const granted = (scope: string | undefined, ...resources: (typeof echo)[]) =>
    grantedScopes(scope, resources as unknown as Parameters<typeof grantedScopes>[1])

  it('drops unknown scopes (claudeai) and grants what the resources require', () => {
    expect(granted('claudeai', echo)).toEqual(['mcp'])
    expect(granted(undefined, echo)).toEqual(['mcp'])
    expect(granted('mcp offline_access', echo)).toEqual(['mcp'])
    expect(parseScope('a  b a')).toEqual(['a', 'b'])
  })

  it('grants a tool scope only when asked, and never without the required scopes', () => {
    expect(granted('echo:admin', echo)).toEqual(['mcp', 'echo:admin'])
    expect(granted('notes:write echo:admin', echo, notes)).toEqual([
      'mcp',
      'notes',
      'notes:write',
      'echo:admin',
    ])
    expect(granted('notes:write', echo)).toEqual(['mcp'])
  })

  it('tells a narrower set of scopes from a wider one', () => {
    expect(isSubset(['a'], ['a', 'b'])).toBe(true)
    expect(isSubset(['c'], ['a', 'b'])).toBe(false)
  })
})

describe('resources (RFC 8707)', () => {
  const config = loadConfig({ MCP_MEMORY_ENABLED: 'true' })
  it('accepts known resources with or without a trailing slash and refuses others', () => {
    expect(canonicalResource('http://localhost:8080/echo/mcp/')).toBe(
      'http://localhost:8080/echo/mcp'
    )
    expect(
      resolveResources(['http://localhost:8080/echo/mcp/'], config.protectedResources)
    ).toEqual(['http://localhost:8080/echo/mcp'])
    expect(canonicalResource('HTTPS://Echo.Example.COM:443/mcp')).toBe(
      'https://echo.example.com/mcp'
    )
    expect(canonicalResource('https://echo.example.com/')).toBe('https://echo.example.com')
    expect(canonicalResource('https://echo.example.com/mcp?x=1')).toBe(
      'https://echo.example.com/mcp?x=1'
    )
    expect(canonicalResource('not a url/')).toBe('not a url/')
    expect(resolveResources([], config.protectedResources)).toHaveLength(2)
    expect(() =>
      resolveResources(['http://localhost:8080/other/mcp'], config.protectedResources)
    ).toThrow(/not one this server protects/)
  })
})
