import { createHash, randomBytes } from 'node:crypto'
import { HeadlessBrowser } from '../../tests/support/headless-browser.ts'

/** Where the soak's client says it is redirected to; the browser stops there with the code. */
const REDIRECT_URI = 'http://127.0.0.1:9/callback'

export interface Family {
  readonly clientId: string
  accessToken: string
  refreshToken: string
}

/** A public client registered for the code and refresh grants. */
export async function registerClient(issuer: string, name: string): Promise<string> {
  const response = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    }),
  })
  if (response.status !== 201) throw new Error(`registration: ${await response.text()}`)
  return ((await response.json()) as { client_id: string }).client_id
}

/**
 * `count` refresh families of one user and client, each through the whole code flow over HTTP
 * (consent once, then remembered; sign-in at the fake GitHub), as a client would get them.
 */
export async function signIn(issuer: string, count: number): Promise<Family[]> {
  const clientId = await registerClient(issuer, 'soak')
  const browser = new HeadlessBrowser()
  const families: Family[] = []
  for (let i = 0; i < count; i++) {
    const verifier = randomBytes(32).toString('base64url')
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: `soak-${i}`,
      resource: `${issuer}/echo/mcp`,
    })
    const first = await browser.open(`${issuer}/authorize?${query}`, REDIRECT_URI)
    const page = first.body ? await browser.submitConsent(first, 'approve', REDIRECT_URI) : first
    const code = new URL(page.url).searchParams.get('code')
    if (!code) throw new Error(`no code: ${page.url} ${page.body.slice(0, 300)}`)
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT_URI,
      }),
    })
    if (response.status !== 200) throw new Error(`code exchange: ${await response.text()}`)
    const tokens = (await response.json()) as { access_token: string; refresh_token: string }
    families.push({
      clientId,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
    })
  }
  return families
}
