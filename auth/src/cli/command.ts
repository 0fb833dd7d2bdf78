import { type CommandResult, UsageError } from './cli-context.ts'

/**
 * One way to call a command, and what it does. Every usage text the CLI prints (the full list,
 * one command's, a mistake's) is made of these, from the same table the commands are dispatched
 * by, so a command cannot be missing from its own usage.
 */
export interface UsageLine {
  readonly form: string
  readonly about: string
}

/** A command: how it is called, and what runs it (on the store, or on the environment). */
export interface Command<C> {
  readonly usage: readonly UsageLine[]
  run(context: C, args: readonly string[]): Promise<CommandResult>
}

/** One word of a command with subcommands (`clients show`): one form. */
export interface Subcommand<C> {
  readonly usage: UsageLine
  run(context: C, args: readonly string[]): Promise<CommandResult>
}

export const USAGE_HEADING = 'usage: npm run admin -- [--json] <command>, one of:'

/** Where the descriptions start; a longer form puts its description on the next line. */
const COLUMN = 37

/** The lines under a heading, forms in one column and what they do in the next. */
export function usageText(lines: readonly UsageLine[], heading = USAGE_HEADING): string {
  const body = lines.map(({ form, about }) =>
    form.length < COLUMN - 1
      ? `  ${form.padEnd(COLUMN)}${about}`
      : `  ${form}\n  ${' '.repeat(COLUMN)}${about}`
  )
  return [heading, ...body].join('\n')
}

/** The mistake a command's arguments make, answered with that command's usage. */
export function usageError(lines: readonly UsageLine[], problem?: string): UsageError {
  const text = usageText(lines)
  return new UsageError(problem ? `${problem}\n${text}` : text)
}

/**
 * A command whose first word picks a subcommand (`clients list|count|show|delete`): the usage is
 * the subcommands' forms, in the order given; a missing or unknown word is answered with it.
 */
export function bySubcommand<C>(subcommands: Readonly<Record<string, Subcommand<C>>>): Command<C> {
  const usage = Object.values(subcommands).map((subcommand) => subcommand.usage)
  return {
    usage,
    run(context, args) {
      const [word, ...rest] = args
      const subcommand =
        word !== undefined && Object.hasOwn(subcommands, word) ? subcommands[word] : undefined
      if (!subcommand) {
        throw usageError(usage, word === undefined ? undefined : `unknown subcommand: ${word}`)
      }
      return subcommand.run(context, rest)
    },
  }
}
