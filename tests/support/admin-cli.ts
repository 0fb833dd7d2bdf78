import { spawn } from 'node:child_process'
import { once } from 'node:events'

/** The admin CLI as an operator runs it, with only the environment given. */
export async function admin(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['auth/src/cli/main.ts', ...args], {
    cwd: new URL('../../', import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? '', ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stdout, stderr }
}
