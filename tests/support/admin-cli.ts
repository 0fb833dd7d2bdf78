import { spawn } from 'node:child_process'
import { once } from 'node:events'

/**
 * The admin CLI as an operator runs it, with only the environment given. One still running after
 * `timeoutMs` is killed: its exit code is then null.
 */
export function admin(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000
) {
  return runScript('auth/src/cli/main.ts', args, env, timeoutMs)
}

/** A command-line script of the repository (`auth/src/cli/client-token.ts`), as `admin` runs the CLI. */
export async function runScript(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000
) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: new URL('../../', import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? '', ...env },
  })
  const stuck = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(stuck)
  return { code, stdout, stderr }
}
