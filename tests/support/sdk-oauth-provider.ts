import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import { HeadlessBrowser } from './headless-browser.ts'

/**
 * The SDK's OAuth client provider, in memory, with the user's part played headlessly: the
 * authorization URL is opened in a `HeadlessBrowser`, consent is approved, the identity provider
 * follows, and the code that reaches the redirect URI is kept for `finishAuth`.
 */
export class HeadlessOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl: string
  /** Set: the client identifies itself by this metadata document URL where the server allows. */
  readonly clientMetadataUrl?: string
  readonly clientMetadata: OAuthClientMetadata
  readonly browser: HeadlessBrowser
  client: OAuthClientInformationMixed | undefined
  savedTokens: OAuthTokens | undefined
  verifier = ''
  authorizationUrls: URL[] = []
  lastRedirect: URL | undefined

  constructor(options: {
    redirectUrl: string
    metadata?: Partial<OAuthClientMetadata>
    browser?: HeadlessBrowser
    clientMetadataUrl?: string
  }) {
    this.redirectUrl = options.redirectUrl
    if (options.clientMetadataUrl) this.clientMetadataUrl = options.clientMetadataUrl
    this.browser = options.browser ?? new HeadlessBrowser()
    this.clientMetadata = {
      client_name: 'SDK end-to-end client',
      redirect_uris: [options.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      ...options.metadata,
    }
  }

  clientInformation() {
    return this.client
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info
  }
  tokens() {
    return this.savedTokens
  }
  saveTokens(tokens: OAuthTokens) {
    this.savedTokens = tokens
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier
  }
  codeVerifier() {
    return this.verifier
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url)
    const consent = await this.browser.open(url.href, this.redirectUrl)
    const landed = consent.body
      ? await this.browser.submitConsent(consent, 'approve', this.redirectUrl)
      : consent
    this.lastRedirect = new URL(landed.url)
  }

  /** The code the last authorization delivered to the redirect URI. */
  code(): string {
    const code = this.lastRedirect?.searchParams.get('code')
    if (!code)
      throw new Error(`no authorization code reached the client: ${this.lastRedirect?.href}`)
    return code
  }
}
