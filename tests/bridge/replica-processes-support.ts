import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { type RunningProcess, startProcess } from '../proxies/support/processes.ts'
import { freePort } from '../support/free-port.ts'

// Two bridge processes through the real entry point (`mcp-services/src/main.ts echo`), each the
// other's peer, configured only by their environment (replica-processes.test.ts,
// replica-drain.test.ts).

/** The bridge's entry point, as `npm run start:service` runs it. */
export const BRIDGE_MAIN = 'mcp-services/src/main.ts'

export type BridgeProcess = RunningProcess & { readonly url: string }

/**
 * Starts the two replicas before the enclosing describe's tests and stops them after; the array
 * is filled once they listen. `env` is added to each replica's environment.
 */
export function useBridgeProcesses(
  secret: string,
  env: Readonly<Record<string, string>> = {}
): BridgeProcess[] {
  const replicas: BridgeProcess[] = []
  let dataDir: string | undefined
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'bridge-replica-processes-'))
    const ports = [await freePort(), await freePort()]
    const peers = ports.map((port, i) => `r${i}=http://127.0.0.1:${port}`).join(',')
    for (const [i, port] of ports.entries()) {
      const running = await startProcess(process.execPath, [BRIDGE_MAIN, 'echo'], port, {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        BRIDGE_SHARED_SECRET: secret,
        BRIDGE_PEERS: peers,
        BRIDGE_REPLICA_ID: `r${i}`,
        ...env,
      })
      replicas.push({ ...running, url: `http://127.0.0.1:${port}/mcp` })
    }
  }, 30_000)
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()))
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })
  return replicas
}
