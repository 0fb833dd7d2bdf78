/**
 * Every logical store key is formed here, and STORAGE.md documents each one (record shape, TTL,
 * what is hashed). Secrets never appear in keys: tokens and codes are looked up by their hash.
 * (The Redis store's start-up permission probe writes `permission-probe:*` below this layer.)
 */
export const keys = {
  /**
   * Registered client record (JSON `ClientRecord`). TTL: CLIENT_UNUSED_LIFETIME until first used,
   * then CLIENT_LIFETIME from the last use (none when 0).
   */
  client: (clientId: string) => `client:${clientId}`,
  /**
   * Cached client ID metadata document of a client whose id is that document's URL, by hash of the
   * URL (JSON: the client it describes, until when it is fresh, whether tokens were issued to it;
   * or a failed fetch). TTL: the document's max-age within 5 min..24 h plus 30 days once tokens
   * were issued, at most 10 min before; 60 s for a failure.
   */
  clientMetadataDocument: (urlHash: string) => `client-metadata-document:${urlHash}`,
  /** Signing key ring (JSON `StoredKeyRing`). No TTL. */
  signingKeys: () => 'signing-keys',
  /**
   * A running auth replica (JSON `ReplicaRecord`: id, host, pid, start, its shared settings'
   * fingerprints), rewritten every 30 s. TTL: 90 s; deleted when the replica stops.
   */
  replica: (replicaId: string) => `replica:${replicaId}`,
  /** Index: the running replicas' ids (set). TTL: lengthened to 90 s by every announcement. */
  replicas: () => 'replicas',
  /** Marker: this access token (by `jti`) is revoked. TTL: the token's remaining lifetime. */
  revokedAccessToken: (jti: string) => `revoked:jti:${jti}`,
  /** Marker: every token of this refresh family is revoked. TTL: ACCESS + REFRESH_TOKEN_TTL. */
  revokedFamily: (familyId: string) => `revoked:family:${familyId}`,
  /** Marker: every token issued to this (deleted) client is revoked. TTL: as for a family. */
  revokedClient: (clientId: string) => `revoked:client:${clientId}`,
  /** Authorization request approved on the consent page, awaiting the upstream sign-in. TTL: 10 min. */
  pendingAuthorization: (stateHash: string) => `pending-authorization:${stateHash}`,
  /**
   * Validated authorization request shown on a consent page, by hash of the page's reference.
   * TTL: the form's lifetime (15 min). Taken (GETDEL) by the decision.
   */
  consentRequest: (referenceHash: string) => `consent-request:${referenceHash}`,
  /** Authorization code, by hash. TTL: AUTH_CODE_TTL. Taken (GETDEL) on redemption. */
  authorizationCode: (codeHash: string) => `code:${codeHash}`,
  /** A redeemed code, by hash → the refresh family it started. TTL: ACCESS + REFRESH_TOKEN_TTL. */
  redeemedCode: (codeHash: string) => `code-redeemed:${codeHash}`,
  replayedCode: (codeHash: string) => `code-replayed:${codeHash}`,
  /** Live refresh token, by hash. TTL: REFRESH_TOKEN_TTL. Taken on rotation. */
  refreshToken: (tokenHash: string) => `refresh:${tokenHash}`,
  /**
   * A rotated refresh token of the format before tokens named their family, by hash → its family
   * id (reuse detection); written at most once per family now. TTL: REFRESH_TOKEN_TTL.
   */
  rotatedRefreshToken: (tokenHash: string) => `refresh-rotated:${tokenHash}`,
  /**
   * A just-rotated refresh token, by hash → when, its family, and its successor sealed under a key
   * derived from the rotated token itself (the reuse grace). TTL: REFRESH_TOKEN_REUSE_GRACE.
   */
  refreshSuccessor: (tokenHash: string) => `refresh-successor:${tokenHash}`,
  /** Refresh token family: who, which client, the live token's hash. TTL: REFRESH_TOKEN_TTL. */
  refreshFamily: (familyId: string) => `family:${familyId}`,
  restoredFamily: (familyId: string) => `family-restored:${familyId}`,
  /** Index: a user's refresh families (set). */
  userFamilies: (userId: string) => `user-families:${userId}`,
  /** Index: a client's refresh families (set). */
  clientFamilies: (clientId: string) => `client-families:${clientId}`,
  /**
   * Index: the families of codes issued and device authorizations approved for this user and
   * client, redeemed or not (set), so a withdrawn consent can revoke a grant before it has tokens.
   * TTL: lengthened to the code's or device code's lifetime by every member added.
   */
  pendingFamilies: (userId: string, clientId: string) => `pending-families:${userId}:${clientId}`,
  /** Remembered consent of a user for a client (JSON). TTL: CLIENT_LIFETIME. */
  consent: (userId: string, clientId: string) => `consent:${userId}:${clientId}`,
  /** Index: the clients a user consented to (set). */
  userConsents: (userId: string) => `user-consents:${userId}`,
  /** Browser session at the gateway, by hash of the cookie value. TTL: 12 h. */
  browserSession: (sessionHash: string) => `session:${sessionHash}`,
  /** The user's latest upstream (GitHub) grant, AES-256-GCM encrypted. TTL: REFRESH_TOKEN_TTL. */
  upstreamGrant: (userId: string) => `upstream-grant:${userId}`,
  /**
   * The user as last checked at the identity provider that let them in (JSON `CheckedUser`: id,
   * login, organisations, teams, checked_at), served by the internal API. TTL: REFRESH_TOKEN_TTL.
   */
  checkedUser: (userId: string) => `checked-user:${userId}`,
  /**
   * The subject the last re-check that let the user in found, and when (JSON), believed by
   * refreshes for USER_RECHECK_INTERVAL instead of asking GitHub again. TTL: that interval.
   */
  recentCheck: (userId: string) => `recent-check:${userId}`,
  /** Device authorization (RFC 8628), by hash of the device code. TTL: DEVICE_CODE_TTL. */
  deviceAuthorization: (deviceCodeHash: string) => `device:${deviceCodeHash}`,
  /** A live user code → hash of its device code. TTL: DEVICE_CODE_TTL; deleted once decided. */
  userCode: (userCode: string) => `user-code:${userCode}`,
  /** Last poll time and current interval of a device code (slow_down). TTL: DEVICE_CODE_TTL. */
  devicePoll: (deviceCodeHash: string) => `device-poll:${deviceCodeHash}`,
  /** A redeemed device code, by hash (a later poll is told it was used). TTL: DEVICE_CODE_TTL. */
  redeemedDeviceCode: (deviceCodeHash: string) => `device-redeemed:${deviceCodeHash}`,
  /** Development sign-in code (demo without GitHub), by hash. TTL: 60 s. Taken once. */
  developmentLoginCode: (codeHash: string) => `dev-login:${codeHash}`,
  /**
   * The audit trail (docs/audit.md): a stream of JSON `AuditRecord`s, one entry each. No TTL:
   * capped at AUDIT_STREAM_MAX_LENGTH entries (`XADD … MAXLEN ~`), the oldest dropped first.
   */
  auditTrail: () => 'audit-trail',
  /** Fixed-window request counter of one caller (IPv4 address or IPv6 /64). TTL: the window. */
  rateLimit: (bucket: string, caller: string, window: number) =>
    `rate:${bucket}:${caller}:${window}`,
  /** Fixed-window counter of all callers together (`all` is no address). TTL: the window. */
  globalRateLimit: (bucket: string, window: number) => `rate:${bucket}:all:${window}`,
} as const

/** Prefixes used by listings and purges (SCAN). */
export const keyPrefixes = {
  client: 'client:',
  refreshFamily: 'family:',
  consent: 'consent:',
  refreshToken: 'refresh:',
  rotatedRefreshToken: 'refresh-rotated:',
  userFamilies: 'user-families:',
  clientFamilies: 'client-families:',
  userConsents: 'user-consents:',
  upstreamGrant: 'upstream-grant:',
  /** Authorization codes not redeemed yet (`tokens revoke` looks through them). */
  authorizationCode: 'code:',
  /** Device authorizations, decided or not. */
  deviceAuthorization: 'device:',
  /** Every revocation marker: of an access token, a refresh family, a client. */
  revocationMarker: 'revoked:',
} as const
