/**
 * The client ID metadata documents real MCP clients publish, as their public sources show them
 * (read 2026-11). Each entry names its source; fields a source does not show are left out rather
 * than guessed. Tests serve them from a local https server, with `client_id` rewritten to the
 * local URL (a document must name its own URL), to check the gateway accepts each as published.
 */
export interface PublishedDocument {
  readonly client: string
  /** Where the client publishes it: its `client_id`. */
  readonly url: string
  readonly source: string
  readonly document: Record<string, unknown>
  /** A redirect URI the client really sends (loopback clients pick their port at run time). */
  readonly redirectUri: string
}

export const PUBLISHED_DOCUMENTS: readonly PublishedDocument[] = [
  {
    client: 'Claude.ai (web, Desktop, mobile)',
    url: 'https://claude.ai/oauth/mcp-oauth-client-metadata',
    source:
      'anthropics/claude-ai-mcp#487 and keycloak/keycloak#50362 (the live document: public client, ' +
      'token_endpoint_auth_method none, grant types incl. jwt-bearer); callback from ' +
      'claude.com/docs/connectors/building/authentication',
    document: {
      client_name: 'Claude',
      client_uri: 'https://claude.ai',
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    redirectUri: 'https://claude.ai/api/mcp/auth_callback',
  },
  {
    client: 'Claude Code',
    url: 'https://claude.ai/oauth/claude-code-client-metadata',
    source:
      'anthropics/claude-code#42301 and #44429 (redirect_uris without a port; the CLI listens on ' +
      'an ephemeral one), #64705 (no application_type)',
    document: {
      client_name: 'Claude Code',
      client_uri: 'https://claude.ai',
      redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    redirectUri: 'http://localhost:55611/callback',
  },
  {
    client: 'ChatGPT',
    url: 'https://chatgpt.com/oauth/client.json',
    source:
      'developers.openai.com/apps-sdk/build/auth (CIMD supported); operately/operately#5164 and ' +
      'engram-app/Engram#1637 (the document prefers private_key_jwt with a jwks_uri and also ' +
      'offers none); callback from makeplane/plane-mcp-server#165',
    document: {
      client_name: 'ChatGPT',
      client_uri: 'https://chatgpt.com/',
      redirect_uris: ['https://chatgpt.com/connector_platform_oauth_redirect'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
      token_endpoint_auth_signing_alg: 'RS256',
      jwks_uri: 'https://chatgpt.com/oauth/jwks.json',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    redirectUri: 'https://chatgpt.com/connector_platform_oauth_redirect',
  },
  {
    client: 'VS Code',
    url: 'https://vscode.dev/oauth/client-metadata.json',
    source:
      'microsoft/vscode#282472 (VS Code uses CIMD when advertised); redirect URIs from ' +
      'code.visualstudio.com/api/extension-guides/ai/mcp (127.0.0.1:33418 and vscode.dev/redirect, ' +
      'another port when 33418 is busy: microsoft/vscode#278512)',
    document: {
      client_name: 'Visual Studio Code',
      client_uri: 'https://vscode.dev/product',
      logo_uri: 'https://code.visualstudio.com/assets/branding/code-stable.png',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1:33418/', 'https://vscode.dev/redirect'],
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    redirectUri: 'http://127.0.0.1:41234/',
  },
  {
    client: 'Goose',
    url: 'https://goose-docs.ai/oauth/client-metadata.json',
    source:
      'aaif-goose/goose, documentation/static/oauth/client-metadata.json (served at the URL); ' +
      'crates/goose/src/oauth/mod.rs names it as CLIENT_METADATA_URL',
    document: {
      client_name: 'Goose',
      redirect_uris: ['http://localhost/oauth_callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'openid profile email',
      code_challenge_methods_supported: ['S256'],
    },
    redirectUri: 'http://localhost:49152/oauth_callback',
  },
]

/**
 * Cursor publishes no metadata document (forum.cursor.com "MCP OAuth CIMD support plans and
 * timelines", open through 2026-08): it registers dynamically, public, with these redirect URIs
 * (different-ai/openwork#3059; cursor.com/docs/context/mcp).
 */
export const CURSOR_REGISTRATION = {
  client_name: 'Cursor',
  redirect_uris: [
    'cursor://anysphere.cursor-mcp/oauth/callback',
    'https://www.cursor.com/agents/mcp/oauth/callback',
    'http://localhost:8787/callback',
  ],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
}
