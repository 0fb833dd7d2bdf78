import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

/**
 * `json`: one pino JSON object a line, for log collectors. `pretty`: one readable line an entry,
 * for people at a terminal. `LOG_FORMAT` chooses; unset, a terminal on stdout gets `pretty`.
 */
export type LogFormat = 'json' | 'pretty'

/** The bridge's logger (pino); the bridge adds the service name to each entry. */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format?: LogFormat
): Logger {
  return pino(
    { level, hooks: { streamWrite: redactCredentialShapes } },
    logDestination(destination, format)
  )
}

/**
 * GitHub's token shapes (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, fine-grained `github_pat_`). No
 * leading word boundary: in JSON a token can follow an escape such as `\n`.
 */
const GITHUB_TOKEN = /gh[oprsu]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}/g

/**
 * Removes credentials recognisable by their shape from one serialized log entry, wherever they
 * sit: a child's stderr line or an upstream's error message can hold one where no redaction
 * path reaches. Both loggers run every entry through it before it is written (and before the
 * readable format is made from it).
 */
export function redactCredentialShapes(line: string): string {
  return line.replace(GITHUB_TOKEN, '[redacted]')
}

/**
 * Where pino writes. Pretty lines are made from the JSON pino has already serialized, so whatever
 * the logger redacts is redacted in both formats. A caller-given destination gets JSON unless
 * `format` says otherwise; standard output gets the configured format or, unset, `pretty` on a
 * terminal.
 */
export function logDestination(
  destination: DestinationStream | undefined,
  format: LogFormat | undefined
): DestinationStream | undefined {
  const chosen = format ?? (destination === undefined && process.stdout.isTTY ? 'pretty' : 'json')
  if (chosen === 'json') return destination
  const out = destination ?? process.stdout
  return { write: (line: string) => out.write(`${formatLogLine(line)}\n`) }
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}

/** Fields the line shows in its head, or that say nothing to a reader. */
const HEAD_FIELDS = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname'])

/**
 * One pino JSON entry as a line for people: time, level, service, the message (or, without one,
 * the audit event), then the other fields as key=value:
 * `2026-01-31T09:15:02.123Z INFO  auth client_registered client_id=3f2a… redirect_uris=["https://…"]`.
 * Values with spaces, quotes or control characters are JSON-quoted, so an entry stays one line (a
 * value cannot forge another entry); only an error's stack frames follow, indented.
 */
export function formatLogLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return JSON.stringify(json.trimEnd())
  }
  const headline = typeof entry.msg === 'string' ? entry.msg : entry.event
  const hidden = new Set(HEAD_FIELDS)
  if (headline === entry.event) hidden.add('event')
  const head = [
    typeof entry.time === 'number' ? new Date(entry.time).toISOString() : undefined,
    (LEVELS[Number(entry.level)] ?? String(entry.level)).padEnd(5),
    typeof entry.service === 'string' ? oneLine(entry.service) : undefined,
    typeof headline === 'string' ? oneLine(headline) : undefined,
  ].filter((part) => part !== undefined && part !== '')
  const pairs = Object.entries(entry)
    .filter(([key, value]) => !hidden.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${key === 'err' ? errorSummary(value) : bare(value)}`)
  const stack = stackFrames(entry.err)
  return [...head, ...pairs].join(' ') + (stack ? `\n${stack}` : '')
}

/** Prose as it is, unless it holds a control character (a newline could forge an entry). */
function oneLine(value: string): string {
  return /\p{Cc}/u.test(value) ? JSON.stringify(value) : value
}

/** A value bare when it reads unambiguously after `key=`, else as JSON. */
function bare(value: unknown): string {
  if (typeof value === 'string' && /^[^\s"=\\\p{Cc}]+$/u.test(value)) return value
  return JSON.stringify(value) ?? String(value)
}

function errorSummary(value: unknown): string {
  if (value && typeof value === 'object' && 'message' in value) {
    const { type, message } = value as { type?: unknown; message?: unknown }
    return JSON.stringify(`${typeof type === 'string' ? `${type}: ` : ''}${String(message)}`)
  }
  return bare(value)
}

/** The `at …` lines of a serialized error's stack (never its message, which may hold newlines). */
function stackFrames(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || !('stack' in value)) return undefined
  const { stack } = value as { stack?: unknown }
  if (typeof stack !== 'string') return undefined
  const frames = stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '))
  return frames.length > 0 ? frames.map((frame) => `    ${oneLine(frame)}`).join('\n') : undefined
}
