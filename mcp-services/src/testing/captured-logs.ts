import { createLogger, type Logger } from '../logger.ts'

/** A logger whose entries a test reads back, each parsed from the JSON line it wrote. */
export function capturedLogs(level = 'info'): {
  readonly logger: Logger
  readonly lines: Record<string, unknown>[]
} {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger(level, {
    write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
  })
  return { logger, lines }
}
