import { describe } from 'vitest'
import { startCaddy } from './support/caddy.ts'
import { forwardAuthContract } from './support/forward-auth-contract.ts'

describe('behind Caddy forward_auth (/usr/bin/caddy)', () => {
  forwardAuthContract(startCaddy, { challengeOn403: true })
})
