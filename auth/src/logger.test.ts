import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
import { createLogger } from './logger.ts'

const SECRET = 'sk_live_do_not_print'

function logBoth(log: (logger: ReturnType<typeof createLogger>) => void) {
  return (['json', 'pretty'] as const).map((format) => {
    let text = ''
    log(createLogger('info', { write: (line: string) => (text += line) }, format))
    return text
  })
}

describe('the authorization server’s logger', () => {
  it('redacts credentials in JSON and in readable lines alike', () => {
    for (const text of logBoth((logger) =>
      logger.info({
        event: 'token_issued',
        client_secret: SECRET,
        body: { refresh_token: SECRET, code: SECRET },
        headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET },
      })
    )) {
      expect(text).not.toContain(SECRET)
      expect(text).toContain('[redacted]')
      expect(text).toContain('token_issued')
    }
  })

  it('leaves the logged object and errors as they were', () => {
    const line = { event: 'upstream_failed', form: { code: SECRET, state: 'kept' } }
    const error = Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' })
    const [json] = logBoth((logger) => logger.warn({ ...line, err: error }))
    expect(JSON.parse(json ?? '')).toMatchObject({
      form: { code: '[redacted]', state: 'kept' },
      err: { message: 'connect refused', code: 'ECONNREFUSED' },
    })
    expect(line.form.code).toBe(SECRET)
  })

  it('redacts GitHub tokens by their shape, wherever they sit', () => {
    const token = `gho_${'T0k3n'.repeat(8)}`
    for (const text of logBoth((logger) =>
      logger.warn({ err: new Error(`GitHub said no to ${token}`) }, `upstream ${token}`)
    )) {
      expect(text).not.toContain(token)
      expect(text).toContain('[redacted]')
    }
  })

  it('names the service in both formats', () => {
    const [json, pretty] = logBoth((logger) => logger.warn({ event: 'memory_store' }, 'in memory'))
    expect(JSON.parse(json ?? '')).toMatchObject({
      service: 'auth',
      level: 40,
      event: 'memory_store',
    })
    expect(pretty).toMatch(/^\S+Z WARN {2}auth in memory event=memory_store\n$/)
  })
})

describe('LOG_FORMAT', () => {
  it('is json or pretty; anything else stops start-up naming the variable', () => {
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty')
    expect(loadConfig({}).logFormat).toBeUndefined()
    expect(() => loadConfig({ LOG_FORMAT: 'text' })).toThrow(/^LOG_FORMAT: /)
  })
})
