import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, posix, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { type Dockerfile, parseDockerfile } from './dockerfile.ts'

/**
 * An image's build and start replayed without a Docker engine: the files its COPY steps take from
 * the build context (the repository root, minus `.dockerignore`) go into a temporary directory
 * standing for WORKDIR, its `npm ci` runs there as written, and its command starts with its ENV
 * on the project's Node 24 (the image is `node:24-slim`).
 */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Image-only steps that change nothing a started process sees here. */
const IMAGE_ONLY = [
  // Shrinks the image; here it would empty this machine's npm cache.
  /^npm cache clean --force$/,
  // The image's data directory; the replay gives DATA_DIR a temporary directory instead.
  /^mkdir -p \/data$/,
  /^chown \S+ \/data$/,
]

export interface ReplayedImage {
  readonly dockerfile: Dockerfile
  /** Stands for the image's WORKDIR. */
  readonly dir: string
  /** How long each `npm ci` of the build took. */
  readonly installMs: number[]
  remove(): Promise<void>
}

export async function replayBuild(dockerfilePath: string): Promise<ReplayedImage> {
  const dockerfile = parseDockerfile(await readFile(join(ROOT, dockerfilePath), 'utf8'))
  const dir = await mkdtemp(join(tmpdir(), 'gateway-image-'))
  // As the image's /app: readable by its other users (the bridge's children run as `node`).
  await chmod(dir, 0o755)
  const ignored = await dockerIgnore()
  const installMs: number[] = []
  for (const step of dockerfile.steps) {
    if (step.kind === 'copy') {
      for (const source of step.sources) {
        // Docker copies a directory's contents, and a file into a destination ending in `/`.
        const isFile = (await stat(join(ROOT, source))).isFile()
        const into = isFile && (step.destination.endsWith('/') || step.sources.length > 1)
        const target = join(
          inWorkdir(dockerfile, dir, step.destination),
          into ? posix.basename(source) : ''
        )
        await mkdir(dirname(target), { recursive: true })
        await cp(join(ROOT, source), target, {
          recursive: true,
          filter: (path) => !ignored(relative(ROOT, path)),
        })
      }
      continue
    }
    for (const command of step.commands) {
      if (IMAGE_ONLY.some((pattern) => pattern.test(command))) continue
      if (!command.startsWith('npm ci ')) throw new Error(`RUN step not replayed: ${command}`)
      const started = Date.now()
      await runNpm(command.split(/\s+/).slice(1), dir)
      installMs.push(Date.now() - started)
    }
  }
  return {
    dockerfile,
    dir,
    installMs,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

/** A COPY destination inside the directory that stands for WORKDIR. */
function inWorkdir(dockerfile: Dockerfile, dir: string, destination: string): string {
  const absolute = posix.resolve(dockerfile.workdir, destination)
  const inside = posix.relative(dockerfile.workdir, absolute)
  if (inside.startsWith('..')) throw new Error(`COPY outside WORKDIR not replayed: ${destination}`)
  return join(dir, inside)
}

/** `npm` on the project's Node 24, without the settings an outer `npm run`/`npx` passes down. */
export async function runNpm(args: string[], cwd: string): Promise<string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^npm_(?!config_(cache|registry|userconfig|.*proxy))/i.test(key))
      env[key] = value
  }
  env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`
  const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`npm ${args.join(' ')} exited with ${code}:\n${output}`)
  return output
}

/** The `.dockerignore` patterns this project uses: names, `**​/name` and `!path` exceptions. */
async function dockerIgnore(): Promise<(path: string) => boolean> {
  const rules = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const keep = line.startsWith('!')
      const pattern = line.replace(/^!/, '').replace(/\/$/, '')
      const anywhere = pattern.startsWith('**/')
      const name = pattern.replace(/^\*\*\//, '')
      const matches = (path: string) =>
        anywhere ? `/${path}/`.includes(`/${name}/`) : path === name || path.startsWith(`${name}/`)
      return { keep, matches }
    })
  return (path) => {
    let ignored = false
    for (const rule of rules) if (rule.matches(path)) ignored = !rule.keep
    return ignored
  }
}

export interface StartedImage {
  readonly port: number
  readonly output: () => string
  /** Runs the image's HEALTHCHECK command against this process; resolves with its exit code. */
  healthcheck(): Promise<number | null>
  stop(): Promise<void>
}

/**
 * Starts the image's command (ENTRYPOINT + CMD, or `args` in place of CMD as compose's `command`
 * does) with the image's ENV plus `env`, and waits until `/health` answers. `env.PORT` must be
 * given: the image's port may be taken on this machine.
 */
export async function startImage(
  image: ReplayedImage,
  env: Record<string, string> & { PORT: string },
  args?: readonly string[],
  /**
   * The only capabilities the process keeps (compose's `cap_add` after `cap_drop: [ALL]`), with
   * no privilege gain; needs root. Absent: this process's own.
   */
  capabilities?: readonly string[]
): Promise<StartedImage> {
  const [program, ...rest] = [...image.dockerfile.entrypoint, ...(args ?? image.dockerfile.cmd)]
  if (program !== 'node') throw new Error(`the image runs ${program}, not node`)
  const bounding = ['-all', ...(capabilities ?? []).map((name) => `+${name.toLowerCase()}`)]
  const [command, commandArgs] = capabilities
    ? [
        '/usr/bin/setpriv',
        [`--bounding-set=${bounding.join(',')}`, '--no-new-privs', '--', process.execPath, ...rest],
      ]
    : [process.execPath, rest]
  const child = spawn(command, commandArgs, {
    cwd: image.dir,
    // What the image's process sees: its ENV, the PATH that finds Node, nothing of this shell.
    env: {
      PATH: `${dirname(process.execPath)}${delimiter}/usr/bin:/bin`,
      ...image.dockerfile.env,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const port = Number(env.PORT)
  await waitForHealth(child, port, () => output)
  return {
    port,
    output: () => output,
    healthcheck: () => runHealthcheck(image, port),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

async function waitForHealth(child: ChildProcess, port: number, output: () => string) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the image's command exited with ${child.exitCode}:\n${output()}`)
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  child.kill('SIGKILL')
  throw new Error(`the image's command did not answer /health:\n${output()}`)
}

/** The HEALTHCHECK command as written, pointed at the port this replay listens on. */
async function runHealthcheck(image: ReplayedImage, port: number): Promise<number | null> {
  const [program, ...rest] = image.dockerfile.healthcheck ?? []
  if (program !== 'node') throw new Error(`the healthcheck runs ${program}, not node`)
  const imagePort = image.dockerfile.env.PORT
  const args = rest.map((arg) => arg.replaceAll(`127.0.0.1:${imagePort}/`, `127.0.0.1:${port}/`))
  const child = spawn(process.execPath, args, { cwd: image.dir, stdio: 'ignore' })
  const [code] = (await once(child, 'exit')) as [number | null]
  return code
}
