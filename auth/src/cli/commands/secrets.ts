import { GENERATED_SECRETS, writeMissingSecrets } from '../../admin/secrets.ts'
import { type CommandResult, parseCommandLine } from '../cli-context.ts'
import { type UsageLine, usageError, usageText } from '../command.ts'

export const secretsUsage: readonly UsageLine[] = [
  {
    form: 'secrets [NAME...] [--file .env] [--example .env.example]',
    about: 'write missing generated secrets into .env (never overwrites)',
  },
]

/** `secrets [NAME...]`: writes missing generated secrets into `.env`, never replacing a value. */
export async function secretsCommand(args: readonly string[]): Promise<CommandResult> {
  const { values, positionals } = parseCommandLine(
    args,
    {
      file: { type: 'string', default: '.env' },
      example: { type: 'string', default: '.env.example' },
    },
    usageText(secretsUsage)
  )
  // A name it cannot generate is a mistake of the command line (exit 2), as an unknown option is.
  const unknown = positionals.filter((name) => !GENERATED_SECRETS.some((s) => s.name === name))
  if (unknown.length > 0) {
    throw usageError(
      secretsUsage,
      `cannot generate ${unknown.join(', ')}: the generated secrets are ${GENERATED_SECRETS.map((s) => s.name).join(', ')}`
    )
  }
  const report = await writeMissingSecrets(
    { envFile: values.file, exampleFile: values.example },
    positionals
  )
  const purpose = (name: string) => GENERATED_SECRETS.find((s) => s.name === name)?.purpose ?? ''
  const lines = [
    ...(report.created ? [createdLine(report.envFile, values.example, report.fromExample)] : []),
    ...report.written.map((name) => `wrote ${name}: ${purpose(name)}`),
    ...report.kept.map((name) => `kept ${name}: already set (never overwritten)`),
    ...report.keptRefused.map(
      ({ name, problem }) =>
        `${name} is refused at start: ${problem}; empty it in ${report.envFile} and run this again to generate one`
    ),
    ...(report.written.length ? [`${report.envFile} is readable by its owner only (0600)`] : []),
    ...(report.written.includes('JWT_PRIVATE_KEY_B64')
      ? [
          'JWT_PRIVATE_KEY_B64 pins the signing key: tokens signed by keys the gateway kept in Redis ' +
            'stop verifying once it restarts with it, and rotation means changing this value.',
        ]
      : []),
    ...(report.toFillByHand.length
      ? [`still empty, fill in by hand: ${report.toFillByHand.join(', ')}`]
      : []),
  ]
  return {
    data: {
      env_file: report.envFile,
      created: report.created,
      from_example: report.fromExample,
      written: report.written,
      kept: report.kept,
      kept_refused: report.keptRefused,
      to_fill_by_hand: report.toFillByHand,
    },
    text: lines.join('\n'),
    // A kept value the start refuses is something wrong a script must see.
    ...(report.keptRefused.length ? { exitCode: 1 } : {}),
  }
}

/** What was made: a copy of the example, or (none found) a file of the written secrets alone. */
function createdLine(envFile: string, example: string, fromExample: boolean): string {
  return fromExample
    ? `created ${envFile} from ${example}`
    : `created ${envFile} with the generated secrets only: no example at ${example} to copy ` +
        'its settings and comments from (--example names one)'
}
