/**
 * Just enough of the Dockerfile syntax to replay an image's steps outside Docker: the instructions
 * this project's Dockerfiles use, with `\` continuations, comments, ENV `key=value` lists and the
 * JSON (exec) form of CMD, ENTRYPOINT and HEALTHCHECK CMD.
 */
export interface CopyStep {
  readonly kind: 'copy'
  readonly sources: readonly string[]
  readonly destination: string
}

export interface RunStep {
  readonly kind: 'run'
  /** The shell command, split on `&&` into the commands it chains. */
  readonly commands: readonly string[]
}

export interface Dockerfile {
  readonly from: string
  readonly workdir: string
  /** COPY and RUN in file order: the build. */
  readonly steps: readonly (CopyStep | RunStep)[]
  /** Every ENV, later values overriding earlier ones. */
  readonly env: Readonly<Record<string, string>>
  readonly exposedPorts: readonly number[]
  readonly entrypoint: readonly string[]
  readonly cmd: readonly string[]
  readonly healthcheck: readonly string[] | undefined
}

export function parseDockerfile(text: string): Dockerfile {
  let from = ''
  let workdir = '/'
  const steps: (CopyStep | RunStep)[] = []
  const env: Record<string, string> = {}
  const exposedPorts: number[] = []
  let entrypoint: string[] = []
  let cmd: string[] = []
  let healthcheck: string[] | undefined

  for (const { instruction, argument } of instructions(text)) {
    switch (instruction) {
      case 'FROM':
        from = argument
        break
      case 'WORKDIR':
        workdir = argument
        break
      case 'ENV':
        Object.assign(env, parseEnv(argument))
        break
      case 'COPY': {
        const words = argument.split(/\s+/)
        if (words.some((word) => word.startsWith('--')))
          throw new Error(`COPY flags are not replayed: ${argument}`)
        const destination = words.pop()
        if (!destination || words.length === 0) throw new Error(`COPY needs a source: ${argument}`)
        steps.push({ kind: 'copy', sources: words, destination })
        break
      }
      case 'RUN':
        steps.push({ kind: 'run', commands: argument.split('&&').map((c) => c.trim()) })
        break
      case 'EXPOSE':
        exposedPorts.push(...argument.split(/\s+/).map((port) => Number.parseInt(port, 10)))
        break
      case 'ENTRYPOINT':
        entrypoint = execForm(argument)
        break
      case 'CMD':
        cmd = execForm(argument)
        break
      case 'HEALTHCHECK': {
        const at = argument.indexOf('CMD ')
        healthcheck = at === -1 ? undefined : execForm(argument.slice(at + 4))
        break
      }
      case 'USER':
        break
      default:
        throw new Error(`instruction ${instruction} is not replayed outside Docker`)
    }
  }
  return { from, workdir, steps, env, exposedPorts, entrypoint, cmd, healthcheck }
}

function* instructions(text: string) {
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (pending === '' && (line === '' || line.startsWith('#'))) continue
    if (line.startsWith('#')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    const whole = (pending + line).trim()
    pending = ''
    const match = /^([A-Za-z]+)\s+(.*)$/s.exec(whole)
    if (!match?.[1] || match[2] === undefined) throw new Error(`unreadable line: ${whole}`)
    yield { instruction: match[1].toUpperCase(), argument: match[2].trim() }
  }
}

function parseEnv(argument: string): Record<string, string> {
  const pairs: Record<string, string> = {}
  for (const match of argument.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
    const [, key, value = ''] = match
    if (key) pairs[key] = value.replace(/^"(.*)"$/, '$1')
  }
  return pairs
}

function execForm(argument: string): string[] {
  const parsed: unknown = JSON.parse(argument)
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string'))
    throw new Error(`expected the exec (JSON array) form: ${argument}`)
  return parsed
}
