import { describe, expect, it } from 'vitest'
import { registerClient, type TestAuthServer } from '../../../tests/support/auth-app.ts'
import { useServerLosingCommands } from '../../../tests/support/redis-acl-users.ts'

/**
 * A Redis ACL user losing commands while the gateway serves (an operator tightening its rules):
 * each request that needs one gets the outage answer, and the log names the command at error
 * level, since retrying will not mend it.
 */
describe('a store refusing commands it allowed at start', () => {
  let server: TestAuthServer
  useServerLosingCommands(['evalsha', 'eval'], (started) => {
    server = started
  })

  it('answers 503 temporarily_unavailable and logs store_misconfigured naming the command', async () => {
    const response = await registerClient(server, {
      redirect_uris: ['https://app.example/callback'],
      token_endpoint_auth_method: 'none',
    })
    expect(response.status).toBe(503)
    expect(response.headers.get('Retry-After')).toBe('5')
    expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' })
    const refusal = server.logs.find((line) => line.event === 'store_misconfigured')
    expect(refusal).toMatchObject({ level: 50, path: '/register' })
    expect(refusal?.reason).toMatch(/^the Redis user may not run EVAL(SHA)? \(NOPERM\)/)
    expect(server.logs.some((line) => line.msg === 'unhandled error')).toBe(false)
  })
})
