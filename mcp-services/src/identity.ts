/**
 * The identity the gateway injected into a request (DESIGN §5: `/verify` always sets every one of
 * these headers, empty when unknown, so a client cannot smuggle its own).
 */
export interface Identity {
  readonly userId: string
  readonly userName: string
  readonly userEmail: string
  readonly clientId: string
  readonly scopes: string
}

export const ANONYMOUS_USER_ID = 'anonymous'

/** Reads the identity headers; undefined when there is no user id and anonymous use is off. */
export function identityFromHeaders(
  headers: Headers,
  allowAnonymous: boolean
): Identity | undefined {
  const userId = headers.get('x-user-id')?.trim() ?? ''
  if (!userId && !allowAnonymous) return undefined
  return {
    userId: userId || ANONYMOUS_USER_ID,
    userName: headers.get('x-user-name') ?? '',
    userEmail: headers.get('x-user-email') ?? '',
    clientId: headers.get('x-client-id') ?? '',
    scopes: headers.get('x-auth-scopes') ?? '',
  }
}

/**
 * Whether a request's identity may use a session `owner` opened: the same user through the same
 * client. Another client of the same user that learns the id (a leaked log line, a shared
 * machine) gets no further than a stranger would; the child also saw the opener's client id.
 */
export function mayUseSession(owner: Identity, requester: Identity): boolean {
  return owner.userId === requester.userId && owner.clientId === requester.clientId
}

/** The environment a child gets when its catalog entry asks for the identity. */
export function identityEnvironment(identity: Identity): Record<string, string> {
  return {
    MCP_GATEWAY_USER_ID: identity.userId,
    MCP_GATEWAY_USER_NAME: identity.userName,
    MCP_GATEWAY_USER_EMAIL: identity.userEmail,
    MCP_GATEWAY_CLIENT_ID: identity.clientId,
    MCP_GATEWAY_AUTH_SCOPES: identity.scopes,
  }
}
