import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A binary the proxy suites drive for real; missing ones fail the suite with how to get them. */
export function requireBinary(path: string, debianPackage: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: the proxy tests run the real ${debianPackage}; install it with scripts/ensure-system-packages.sh (apt-get install ${debianPackage})`
    )
  }
  return path
}

export interface RunningProcess {
  /** Everything the process wrote, for failure messages. */
  output(): string
  stop(): Promise<void>
}

/** Starts a long-running process and resolves once `port` accepts connections. */
export async function startProcess(
  command: string,
  args: readonly string[],
  /** Ready once every one of these accepts connections (a proxy may open its sites in turn). */
  port: number | readonly number[],
  env: Record<string, string> = {}
): Promise<RunningProcess> {
  const ports = typeof port === 'number' ? [port] : port
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const deadline = Date.now() + 15_000
  while (!(await Promise.all(ports.map(accepts))).every(Boolean)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${command} did not start listening on ${ports.join(', ')}:\n${output}`)
    }
    await sleep(50)
  }
  return {
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
