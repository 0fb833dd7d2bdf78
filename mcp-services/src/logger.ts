import { type Logger, pino } from 'pino'

/** The bridge's JSON logger (pino). Identity headers are never logged in full. */
export function createLogger(level: string, service: string): Logger {
  return pino({ level, base: { service } })
}
