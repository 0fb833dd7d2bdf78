import { type Logger, pino } from 'pino'
import {
  type LogFormat,
  logDestination,
  redactCredentialShapes,
} from '../../mcp-services/src/logger.ts'

export type { LogFormat, Logger }

/**
 * Logs (pino): JSON, or readable lines on a terminal (`LOG_FORMAT`, see the bridge's logger).
 * Anything that could carry a credential is redacted by path, in both formats, as a second line
 * of defence: code never passes tokens, secrets or codes to the logger in the first place.
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
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers.cookie',
          '*.client_secret',
          '*.registration_access_token',
          '*.access_token',
          '*.refresh_token',
          '*.code',
          '*.code_verifier',
          '*.device_code',
          'client_secret',
          'registration_access_token',
          'access_token',
          'refresh_token',
          'code',
          'code_verifier',
          'device_code',
        ],
        censor: '[redacted]',
      },
      // Paths cannot reach a token inside a message or an upstream's error text; shapes can.
      hooks: { streamWrite: redactCredentialShapes },
    },
    logDestination(destination, format)
  )
}
