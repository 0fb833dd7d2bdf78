import { Hono } from 'hono'
import { publicCors } from '../http/cors.ts'
import type { SigningKeys } from '../keys/signing-keys.ts'

/** RFC 7517 key set: the current signing key and the retired ones still trusted. */
export const jwksRoute = (signingKeys: SigningKeys) =>
  new Hono().use('/jwks', publicCors()).get('/jwks', (c) =>
    c.json(signingKeys.jwks(), 200, {
      'Content-Type': 'application/jwk-set+json',
      'Cache-Control': 'public, max-age=300',
    })
  )
