/**
 * Every logical store key is formed here, and STORAGE.md documents each one (record shape, TTL,
 * what is hashed). Secrets never appear in keys: tokens and codes are looked up by their hash.
 */
export const keys = {
  /** Registered client record (JSON `ClientRecord`). TTL: CLIENT_LIFETIME, none when 0. */
  client: (clientId: string) => `client:${clientId}`,
  /** Signing key ring (JSON `StoredKeyRing`). No TTL. */
  signingKeys: () => 'signing-keys',
  /** Marker: this access token (by `jti`) is revoked. TTL: the token's remaining lifetime. */
  revokedAccessToken: (jti: string) => `revoked:jti:${jti}`,
  /** Marker: every token of this refresh family is revoked. TTL: the family's longest lifetime. */
  revokedFamily: (familyId: string) => `revoked:family:${familyId}`,
  /** Fixed-window request counter. TTL: the window. */
  rateLimit: (bucket: string, caller: string, window: number) =>
    `rate:${bucket}:${caller}:${window}`,
} as const

/** Prefixes used by listings and purges (SCAN). */
export const keyPrefixes = {
  client: 'client:',
} as const
