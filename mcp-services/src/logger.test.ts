import { describe, expect, it } from 'vitest'
import { parseBridgeConfig } from './config.ts'
import { createLogger, formatLogLine, logDestination, redactCredentialShapes } from './logger.ts'

const TIME = Date.UTC(2026, 0, 31, 9, 15, 2, 123)
const line = (entry: Record<string, unknown>) =>
  formatLogLine(JSON.stringify({ level: 30, time: TIME, pid: 7, hostname: 'h', ...entry }))

describe('formatLogLine (LOG_FORMAT=pretty)', () => {
  it('reads time, level, service and message, then the fields as key=value', () => {
    expect(line({ service: 'auth', event: 'started', msg: 'gateway listening', port: 8000 })).toBe(
      '2026-01-31T09:15:02.123Z INFO  auth gateway listening event=started port=8000'
    )
  })

  it('heads an entry without a message with its audit event', () => {
    expect(
      line({ level: 40, service: 'auth', event: 'refresh_token_reuse', client_id: 'c1' })
    ).toBe('2026-01-31T09:15:02.123Z WARN  auth refresh_token_reuse client_id=c1')
  })

  it('quotes values that would read ambiguously, and shows lists and objects as JSON', () => {
    expect(
      line({ msg: 'x', reason: 'two words', empty: '', eq: 'a=b', uris: ['https://a/cb'], n: null })
    ).toBe(
      '2026-01-31T09:15:02.123Z INFO  x reason="two words" empty="" eq="a=b" uris=["https://a/cb"] n=null'
    )
  })

  it('keeps every entry on one line: a newline in a value cannot forge an entry', () => {
    const forged = line({ msg: 'hi\n2026-01-31T09:15:02.123Z INFO  auth login', user: 'a\nb' })
    expect(forged.split('\n')).toHaveLength(1)
    expect(forged).toContain('"hi\\n2026')
    expect(forged).toContain('user="a\\nb"')
  })

  it('summarises an error and indents only its stack frames', () => {
    const err = {
      type: 'Error',
      message: 'boom\nINFO  fake',
      stack: 'Error: boom\nINFO  fake\n    at f (x.ts:1:1)',
    }
    expect(line({ level: 50, msg: 'unhandled error', err }).split('\n')).toEqual([
      '2026-01-31T09:15:02.123Z ERROR unhandled error err="Error: boom\\nINFO  fake"',
      '    at f (x.ts:1:1)',
    ])
  })

  it('passes a line that is not JSON through, quoted', () => {
    expect(formatLogLine('not json\n')).toBe('"not json"')
  })
})

describe('createLogger', () => {
  const capture = (format?: 'json' | 'pretty') => {
    const lines: string[] = []
    const logger = createLogger('info', { write: (text: string) => lines.push(text) }, format)
    logger.child({ service: 'echo' }).info({ user: 'u1' }, 'session started')
    return lines.join('')
  }

  it('writes JSON to a given destination unless told pretty', () => {
    expect(JSON.parse(capture())).toMatchObject({
      service: 'echo',
      user: 'u1',
      msg: 'session started',
    })
    expect(capture('pretty')).toMatch(/^\S+Z INFO {2}echo session started user=u1\n$/)
  })
})

describe('the default format', () => {
  const withStdoutTty = (isTTY: boolean, run: () => void) => {
    const before = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY')
    Object.defineProperty(process.stdout, 'isTTY', { value: isTTY, configurable: true })
    try {
      run()
    } finally {
      if (before) Object.defineProperty(process.stdout, 'isTTY', before)
      else delete (process.stdout as { isTTY?: boolean }).isTTY
    }
  }

  it('is readable lines on a terminal and JSON otherwise; LOG_FORMAT overrides both', () => {
    const line = JSON.stringify({ level: 30, time: 0, msg: 'hello', event: 'started' })
    const pretty = `${formatLogLine(line)}\n`
    expect(pretty).not.toContain('{')
    /** What a destination given undefined (standard output) writes for one log line. */
    const writtenToStdout = (format: 'json' | 'pretty' | undefined) => {
      const written: string[] = []
      const write = process.stdout.write
      process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof write
      try {
        const destination = logDestination(undefined, format)
        // pino writes to standard output itself when given no destination.
        if (destination === undefined) return 'json'
        destination.write(line)
      } finally {
        process.stdout.write = write
      }
      return written
    }
    withStdoutTty(true, () => {
      expect(writtenToStdout(undefined)).toEqual([pretty])
      expect(writtenToStdout('json')).toBe('json')
    })
    withStdoutTty(false, () => {
      expect(writtenToStdout(undefined)).toBe('json')
      expect(writtenToStdout('pretty')).toEqual([pretty])
    })
    const captured: string[] = []
    const sink = { write: (chunk: string) => void captured.push(chunk) }
    expect(logDestination(sink, undefined)).toBe(sink)
    logDestination(sink, 'pretty')?.write(line)
    expect(captured).toEqual([pretty])
  })

  it('is read from LOG_FORMAT by the bridge configuration, which refuses other values', () => {
    expect(parseBridgeConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty')
    expect(parseBridgeConfig({}).logFormat).toBeUndefined()
    expect(() => parseBridgeConfig({ LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT/)
  })
})

describe('credential shapes', () => {
  const tokens = [
    `gho_${'a1B2'.repeat(9)}`,
    `ghu_${'Z9y8'.repeat(9)}`,
    `ghp_${'Q'.repeat(36)}`,
    `ghr_${'r'.repeat(76)}`,
    `github_pat_${'11ABCDEFG0'.repeat(2)}_${'x'.repeat(59)}`,
  ]

  it('are redacted from every entry, in messages and fields, in both formats', () => {
    for (const format of ['json', 'pretty'] as const) {
      let text = ''
      const logger = createLogger('info', { write: (chunk: string) => (text += chunk) }, format)
      for (const token of tokens) {
        logger.info({ stream: 'stderr' }, `token is ${token}`)
        logger.warn({ detail: { nested: `Bearer ${token}` } }, `multi\nline ${token}`)
      }
      for (const token of tokens) expect(text, format).not.toContain(token)
      expect(text).toContain('[redacted]')
      expect(text).toContain('token is')
    }
  })

  it('leave text that only looks a little like them', () => {
    expect(redactCredentialShapes('gho_short ghx_0123456789012345678901234567890123')).toBe(
      'gho_short ghx_0123456789012345678901234567890123'
    )
  })
})
