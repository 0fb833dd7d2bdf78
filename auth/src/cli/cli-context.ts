import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'
import { type AuditTrail, createAuditTrail } from '../audit/audit-trail.ts'
import type { Clock } from '../clock.ts'
import type { Config } from '../config.ts'
import { createLogger, type Logger } from '../logger.ts'
import type { Store } from '../store/store.ts'

/** What every admin command works with: the same configuration and store as the server. */
export interface CliContext {
  readonly config: Config
  readonly store: Store
  readonly clock: Clock
  /** Where admin actions are audited; the CLI's own (`cliAuditTrail`) when not given. */
  readonly audit?: AuditTrail
}

/** What a command gets: the context with its audit trail. */
export interface CommandContext extends CliContext {
  readonly audit: AuditTrail
}

/**
 * The admin CLI's log: standard output is the command's answer (`--json` is parsed by scripts),
 * so log lines (a warning, the audit trail) go to standard error.
 */
export function cliLogger(): Logger {
  return createLogger('info', { write: (line: string) => process.stderr.write(line) }, 'json')
}

/**
 * The admin CLI's audit trail: to standard error (`cliLogger`), and to the store's stream as the
 * server's is. The caller is `cli`.
 */
export function cliAuditTrail(context: CliContext): AuditTrail {
  const { clock, store, config } = context
  return createAuditTrail({
    logger: cliLogger(),
    clock,
    store,
    streamMaxLength: config.auditStreamMaxLength,
    caller: 'cli',
  })
}

/** A command's answer: `data` for `--json`, `text` for people. */
export interface CommandResult {
  readonly data: unknown
  readonly text: string
  /**
   * Non-zero when the command ran but found something wrong: a failed health check, or nothing
   * to act on (no such client, consent or token family), which a script must be able to see.
   */
  readonly exitCode?: number
  /** The text says there was nothing to act on: it goes to standard error, as a failure does. */
  readonly nothingToActOn?: true
}

/**
 * A command that ran and found nothing to act on (exit 1). Its JSON still reaches standard output
 * for scripts; its text goes to standard error, so a pipeline never takes it for a result.
 */
export function nothingToActOn(data: unknown, text: string): CommandResult {
  return { data, text, exitCode: 1, nothingToActOn: true }
}

/** The command line was not understood; the message says how to use it. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Parses a command's options (`--name value`, `--flag`) and positional words, strictly. */
export function parseCommandLine<T extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: T,
  usage: string
) {
  try {
    return parseArgs({
      args: joinOptionValues(args, options),
      options,
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    // The parser's first sentence names the fault (`Unknown option '--lmit'.`); the rest is advice
    // about `--` that does not apply to these commands.
    const fault = error instanceof Error ? /^[^.]*\.?/.exec(error.message)?.[0] : undefined
    throw new UsageError(fault ? `${fault}\n${usage}` : usage)
  }
}

/**
 * Client ids and family ids are base64url, so about one in 64 begins with `-`, which the
 * parser would take for an option: `--client -x3…` becomes `--client=-x3…`.
 */
function joinOptionValues(args: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const joined: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    const next = args[i + 1]
    const name = arg.startsWith('--') ? arg.slice(2) : undefined
    const nextIsOption = next?.startsWith('--') && options[next.slice(2)] !== undefined
    if (name && options[name]?.type === 'string' && next?.startsWith('-') && !nextIsOption) {
      joined.push(`${arg}=${next}`)
      i++
    } else joined.push(arg)
  }
  return joined
}
