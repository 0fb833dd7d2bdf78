import { type Logger, pino } from 'pino'
import {
  type LogFormat,
  logDestination,
  redactCredentialShapes,
} from '../../mcp-services/src/logger.ts'

export type { LogFormat, Logger }

/** Fields that hold a credential: censored at the top of a line and one object down. */
const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set([
  'authorization',
  'client_secret',
  'registration_access_token',
  'access_token',
  'refresh_token',
  'code',
  'code_verifier',
  'device_code',
])
const CENSOR = '[redacted]'

/**
 * Logs (pino): JSON, or readable lines on a terminal (`LOG_FORMAT`, see the bridge's logger).
 * Anything that could carry a credential is redacted, in both formats, as a second line of
 * defence: code never passes tokens, secrets or codes to the logger in the first place.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format?: LogFormat
): Logger {
  return pino(
    {
      level,
      base: { service: 'auth' },
      // Top-level fields by path (cheap). One object down (`body.code`), a walk of our own:
      // pino's wildcard paths cost 12 µs a line, the walk well under one.
      redact: {
        paths: [...CREDENTIAL_FIELDS, 'headers.authorization', 'headers.cookie'],
        censor: CENSOR,
      },
      formatters: { log: censorNestedCredentials },
      // Paths cannot reach a token inside a message or an upstream's error text; shapes can.
      hooks: { streamWrite: redactCredentialShapes },
    },
    logDestination(destination, format)
  )
}

/**
 * The line with every credential field of its nested plain objects (a form, a body, headers)
 * censored, the caller's object untouched. Errors and other instances are left to their
 * serializers: an error's `code` is `ECONNREFUSED`, and a copy would lose its message.
 */
function censorNestedCredentials(line: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(line)) {
    const value = line[key]
    if (!isPlainObject(value)) continue
    let censored: Record<string, unknown> | undefined
    for (const field of Object.keys(value)) {
      if (CREDENTIAL_FIELDS.has(field)) {
        censored ??= { ...value }
        censored[field] = CENSOR
      }
    }
    if (censored) {
      copy ??= { ...line }
      copy[key] = censored
    }
  }
  return copy ?? line
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
