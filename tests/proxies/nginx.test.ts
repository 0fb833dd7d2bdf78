import { describe } from 'vitest'
import { forwardAuthContract } from './support/forward-auth-contract.ts'
import { startNginx } from './support/nginx.ts'

describe('behind nginx auth_request (/usr/sbin/nginx)', () => {
  forwardAuthContract(startNginx, { challengeOn403: false })
})
