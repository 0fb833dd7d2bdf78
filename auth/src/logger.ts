import { type Logger, pino } from 'pino'

export type { Logger }

/**
 * JSON logs (pino). Anything that could carry a credential is redacted by path, as a second line
 * of defence: code never passes tokens, secrets or codes to the logger in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
    },
    destination
  )
}
