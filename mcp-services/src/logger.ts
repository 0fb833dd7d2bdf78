import { type Logger, pino } from 'pino'

/** The bridge's JSON logger (pino); the bridge adds the service name to each entry. */
export function createLogger(level: string): Logger {
  return pino({ level })
}
