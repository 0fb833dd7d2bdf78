import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises'
import type { z } from 'zod'
import { environmentSchema as bridgeEnvironment } from '../../../mcp-services/src/config-environment.ts'
import { environmentSchema as authEnvironment } from '../config.ts'
import { AdminRefusal } from './admin-refusal.ts'

/**
 * The secrets a deployment generates for itself, written into `.env`. A value already there is
 * never replaced: regenerating the Redis password or the signing key of a running deployment
 * would lock it out of its data or invalidate every token. To add a generated secret, add it here.
 */
export interface GeneratedSecret {
  readonly name: string
  readonly purpose: string
  generate(): string
  /** Why the process reading it would refuse `value` at start; undefined when it takes it. */
  problem(value: string): string | undefined
}

const randomHex = () => randomBytes(32).toString('hex')

/** The start's own check of the setting `name`, so what is kept is judged as it will be. */
const checkedBy =
  (schema: { readonly shape: Record<string, z.ZodType> }, name: string) => (value: string) => {
    const result = schema.shape[name]?.safeParse(value)
    return result && !result.success ? result.error.issues[0]?.message : undefined
  }

export const GENERATED_SECRETS: readonly GeneratedSecret[] = [
  {
    name: 'REDIS_PASSWORD',
    purpose: 'the password of the compose Redis (64 hex digits: safe inside a redis:// URL)',
    generate: randomHex,
    problem: (value) =>
      /^[A-Za-z0-9._~-]+$/.test(value)
        ? undefined
        : 'only A-Z a-z 0-9 . _ ~ -: compose writes it into a redis:// URL as it is',
  },
  {
    name: 'JWT_PRIVATE_KEY_B64',
    // ES256 signs for a quarter of RS256's CPU (docs/benchmarks.md); RSA keys pinned before stay valid.
    purpose: 'the pinned token signing key: EC P-256 (ES256), PKCS#8 PEM, base64',
    generate: () =>
      Buffer.from(
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        })
      ).toString('base64'),
    problem: checkedBy(authEnvironment, 'JWT_PRIVATE_KEY_B64'),
  },
  {
    name: 'BRIDGE_SHARED_SECRET',
    purpose: 'the secret the edge adds as X-Bridge-Secret so bridges accept only its requests',
    generate: randomHex,
    problem: checkedBy(bridgeEnvironment, 'BRIDGE_SHARED_SECRET'),
  },
  {
    name: 'INTERNAL_API_SECRET',
    purpose: 'the bearer secret of the auth server’s internal API (users and their GitHub tokens)',
    generate: randomHex,
    problem: checkedBy(authEnvironment, 'INTERNAL_API_SECRET'),
  },
  {
    name: 'METRICS_TOKEN',
    purpose: 'the bearer token Prometheus presents for /metrics (not the internal API’s secret)',
    generate: randomHex,
    problem: checkedBy(authEnvironment, 'METRICS_TOKEN'),
  },
]

/** Values only the operator can supply (compose needs the last two). */
export const FILLED_BY_HAND: readonly (readonly string[])[] = [
  ['GITHUB_CLIENT_ID'],
  ['GITHUB_CLIENT_SECRET'],
  ['ALLOWED_GITHUB_USERS', 'ALLOWED_GITHUB_ORGS', 'ALLOWED_GITHUB_TEAMS'],
  ['BASE_DOMAIN'],
  ['ACME_EMAIL'],
]

export interface SecretsReport {
  readonly envFile: string
  /** `.env` did not exist and was created. */
  readonly created: boolean
  /**
   * It was created as a copy of the example; false when it was created empty, no example being
   * there (it then holds only what was written), or when it existed already.
   */
  readonly fromExample: boolean
  readonly written: readonly string[]
  /** Already set: left as they were. */
  readonly kept: readonly string[]
  /** Kept, but a value the gateway or a bridge refuses at start, and why. */
  readonly keptRefused: readonly { readonly name: string; readonly problem: string }[]
  /** Empty values only the operator can fill (alternatives joined by ` or `). */
  readonly toFillByHand: readonly string[]
}

/**
 * Fills the missing generated secrets (all, or those named) into `envFile`, creating it from
 * `exampleFile` when absent. An empty `NAME=` line is filled in place, a commented `# NAME=` line
 * gets the value below it, anything else is appended. A file it writes to is made readable by its
 * owner only.
 */
export async function writeMissingSecrets(
  files: { readonly envFile: string; readonly exampleFile: string },
  names: readonly string[] = []
): Promise<SecretsReport> {
  const unknown = names.filter((name) => !GENERATED_SECRETS.some((s) => s.name === name))
  if (unknown.length > 0) {
    throw new AdminRefusal(
      `cannot generate ${unknown.join(', ')}: the generated secrets are ${GENERATED_SECRETS.map((s) => s.name).join(', ')}`
    )
  }
  const wanted = GENERATED_SECRETS.filter((s) => names.length === 0 || names.includes(s.name))
  const creation = await createFromExample(files)
  let lines = (await readFile(files.envFile, 'utf8')).split('\n')
  const written: string[] = []
  const kept: string[] = []
  const keptRefused: { name: string; problem: string }[] = []
  for (const secret of wanted) {
    const text = writtenValue(lines, secret.name)
    const value = envFileValue(text)
    if (value) {
      kept.push(secret.name)
      const problem = readApart(text) ?? secret.problem(value)
      if (problem) keptRefused.push({ name: secret.name, problem })
      continue
    }
    lines = withValue(lines, secret.name, secret.generate())
    written.push(secret.name)
  }
  // Closed to others before the secrets are in it: a copy of the example has the example's mode.
  if (written.length > 0 || creation !== 'existed') await chmod(files.envFile, 0o600)
  if (written.length > 0) await writeFile(files.envFile, lines.join('\n'))
  const toFillByHand = FILLED_BY_HAND.filter((alternatives) =>
    alternatives.every((name) => !assignedValue(lines, name))
  ).map((alternatives) => alternatives.join(' or '))
  return {
    envFile: files.envFile,
    created: creation !== 'existed',
    fromExample: creation === 'from_example',
    written,
    kept,
    keptRefused,
    toFillByHand,
  }
}

/** How `envFile` came to be there: it was, it was copied from the example, or made empty. */
type Creation = 'existed' | 'from_example' | 'empty'

async function createFromExample(files: {
  envFile: string
  exampleFile: string
}): Promise<Creation> {
  try {
    await copyFile(files.exampleFile, files.envFile, constants.COPYFILE_EXCL)
    return 'from_example'
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return 'existed'
    if (code === 'ENOENT') {
      // No example (run outside a checkout, or a wrong --example): start from an empty file.
      // The missing one may be the env file's directory instead: then this write says so.
      return writeFile(files.envFile, '', { flag: 'wx', mode: 0o600 }).then(
        () => 'empty',
        (cause: unknown) => {
          const problem = (cause as NodeJS.ErrnoException).code
          if (problem === 'EEXIST') return 'existed'
          if (problem === 'ENOENT') {
            throw new AdminRefusal(`cannot create ${files.envFile}: its directory does not exist`)
          }
          throw cause
        }
      )
    }
    throw error
  }
}

const assignment = (name: string) => new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=(.*)$`)

/** The text assigned to `name` (the last assignment wins, as in a shell); '' when unset. */
function writtenValue(lines: readonly string[], name: string): string {
  let written = ''
  for (const line of lines) {
    const match = assignment(name).exec(line)
    if (match) written = (match[1] ?? '').trim()
  }
  return written
}

/** The value set for `name` as `npm start` and the admin CLI read it; '' when unset. */
function assignedValue(lines: readonly string[], name: string): string {
  return envFileValue(writtenValue(lines, name))
}

/**
 * As Node's `--env-file` reads a written value: what a pair of quotes holds, or the text before
 * a `#`. Compose cuts only at ` #` (`readApart`).
 */
function envFileValue(written: string): string {
  const quote = written[0]
  if (quote === '"' || quote === "'" || quote === '`') {
    const end = written.indexOf(quote, 1)
    if (end !== -1) return written.slice(1, end)
  }
  return written.replace(/#.*$/, '').trim()
}

/**
 * Why Node and compose would read a written value apart: an unquoted `#` right after other text
 * ends it for Node (`npm start`) and is part of it for compose, which hands the whole to its
 * containers (the Redis password inside a `redis://` URL among them).
 */
function readApart(written: string): string | undefined {
  if (/^["'`]/.test(written) || !/\S#/.test(written)) return undefined
  return 'an unquoted # inside the value: Node reads up to it, compose the whole; quote the value'
}

function withValue(lines: readonly string[], name: string, value: string): string[] {
  const line = `${name}=${value}`
  const empty = lines.findLastIndex((l) => assignment(name).test(l))
  if (empty !== -1) return lines.map((l, i) => (i === empty ? line : l))
  const commented = lines.findIndex((l) => new RegExp(`^\\s*#\\s*${name}\\s*=`).test(l))
  if (commented !== -1)
    return [...lines.slice(0, commented + 1), line, ...lines.slice(commented + 1)]
  const body = lines.at(-1) === '' ? lines.slice(0, -1) : [...lines]
  return [...body, line, '']
}
