import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { freePort, waitForHealth } from './bridge.ts'

export interface IdleSessionsResult {
  readonly sessions: number
  /** The bridge process's resident set (VmRSS), in bytes, children excluded. */
  readonly rss: {
    readonly started: number
    /** After one session was opened and deleted: the code a session needs is loaded. */
    readonly warm: number
    readonly idle: number
    /** The same, after a full garbage collection in the bridge. */
    readonly idleAfterGc: number
  }
  /** `(idleAfterGc - warm) / sessions`. */
  readonly bytesPerSession: number
}

const bridgeEntry = fileURLToPath(new URL('./idle-bridge.ts', import.meta.url))
const PROTOCOL_VERSION = '2025-11-25'

/**
 * The bridge's own memory with `sessions` idle session-era sessions open: each one initialized
 * (`initialize`, then `notifications/initialized`) by a user of its own, then left alone, with no
 * GET stream, as clients that never close their sessions leave them. The bridge runs as its own
 * process (`idle-bridge.ts`, `MAX_SESSIONS` raised through its environment); its children are
 * separate processes and not counted. Prints the figures and returns them.
 */
export async function benchIdleSessions(sessions = 1000): Promise<IdleSessionsResult> {
  const port = await freePort()
  const bridgeProcess = spawn(process.execPath, ['--expose-gc', bridgeEntry], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      MAX_SESSIONS: String(sessions),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const pid = bridgeProcess.pid ?? 0
  try {
    const base = `http://127.0.0.1:${port}`
    await waitForHealth(`${base}/health`)
    const started = await residentBytes(pid)
    const warmUp = await openSession(`${base}/mcp`, 'warm-up')
    await fetch(`${base}/mcp`, { method: 'DELETE', headers: sessionHeaders('warm-up', warmUp) })
    await settle(pid)
    const warm = await residentBytes(pid)
    let next = 0
    const opener = async () => {
      while (next < sessions) {
        const user = `idle-${String(next++).padStart(4, '0')}`
        await openSession(`${base}/mcp`, user)
      }
    }
    // Children start slowly on a small VM (a fork of the bridge each): 32 sessions open at once.
    await Promise.all(Array.from({ length: 32 }, opener))
    const held = (await (await fetch(`${base}/bench/sessions`)).json()) as { sessions: number }
    if (held.sessions !== sessions) {
      throw new Error(`the bridge holds ${held.sessions} sessions, not ${sessions}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const idle = await residentBytes(pid)
    await settle(pid)
    const idleAfterGc = await residentBytes(pid)
    const result = {
      sessions,
      rss: { started, warm, idle, idleAfterGc },
      bytesPerSession: Math.round((idleAfterGc - warm) / sessions),
    }
    print(result)
    return result
  } finally {
    bridgeProcess.kill('SIGTERM')
    await new Promise((resolve) => bridgeProcess.once('exit', resolve))
  }
}

/** `initialize` then `notifications/initialized`; returns the session id. */
async function openSession(url: string, user: string): Promise<string> {
  const initialize = await fetch(url, {
    method: 'POST',
    headers: { ...sessionHeaders(user), 'Content-Type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'bench', version: '0' },
      },
    }),
  })
  const sessionId = initialize.headers.get('mcp-session-id')
  const answer = await initialize.text()
  if (!initialize.ok || sessionId === null || !answer.includes('"result"')) {
    throw new Error(`initialize for ${user} failed: ${initialize.status} ${answer}`)
  }
  const initialized = await fetch(url, {
    method: 'POST',
    headers: { ...sessionHeaders(user, sessionId), 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  })
  await initialized.arrayBuffer()
  if (initialized.status !== 202) throw new Error(`initialized for ${user}: ${initialized.status}`)
  return sessionId
}

function sessionHeaders(user: string, sessionId?: string): Record<string, string> {
  return {
    'X-User-Id': user,
    Accept: 'application/json, text/event-stream',
    ...(sessionId === undefined
      ? {}
      : { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': PROTOCOL_VERSION }),
  }
}

/** Asks the bridge for a full garbage collection (SIGUSR2, see idle-bridge.ts) and waits. */
async function settle(pid: number): Promise<void> {
  process.kill(pid, 'SIGUSR2')
  await new Promise((resolve) => setTimeout(resolve, 1000))
}

async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kilobytes = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
  if (kilobytes === undefined) throw new Error(`no VmRSS for ${pid}`)
  return Number(kilobytes) * 1024
}

function print(result: IdleSessionsResult): void {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  const { rss } = result
  console.log(
    `Bridge RSS with ${result.sessions} idle sessions (the bridge process alone; each child a stand-in sed process, not counted)`
  )
  console.log(`  started                 ${mib(rss.started)}`)
  console.log(`  after one session       ${mib(rss.warm)}`)
  console.log(`  ${result.sessions} idle sessions       ${mib(rss.idle)}`)
  console.log(`  the same after a GC     ${mib(rss.idleAfterGc)}`)
  console.log(
    `  per session             ${(result.bytesPerSession / 1024).toFixed(1)} KiB (${result.bytesPerSession} bytes)`
  )
}

if (import.meta.main) await benchIdleSessions(Number(process.argv[2] ?? 1000))
