import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { freePort } from './free-port.ts'

/**
 * Real Redis topologies from Debian's `redis-server` binary on free loopback ports: a Cluster of
 * masters, and a master with a replica watched by Sentinels (`redis-server --sentinel`).
 * Everything lives in one temporary directory, removed by `stop()`. With a password the data
 * nodes want it (`--requirepass`) and give it to each other (`--masterauth`); Sentinels may want
 * one of their own. The URLs carry none: tests choose the credentials they send.
 */
const run = promisify(execFile)

export interface RedisProcess {
  readonly port: number
  child: ChildProcess
}

export interface TopologyPasswords {
  /** What the data nodes require (none when omitted). */
  readonly password?: string
  /** What the Sentinels require (none when omitted). */
  readonly sentinelPassword?: string
}

export interface RedisCluster {
  /** `redis-cluster://…` naming every master, without credentials. */
  readonly url: string
  readonly masters: readonly RedisProcess[]
  cli(port: number, ...args: string[]): Promise<string>
  stop(): Promise<void>
}

export interface RedisSentinels {
  /** `redis-sentinel://…/<master name>` naming every Sentinel, without credentials. */
  readonly url: string
  readonly masterName: string
  readonly data: readonly RedisProcess[]
  readonly sentinels: readonly RedisProcess[]
  cli(port: number, ...args: string[]): Promise<string>
  /** The port of the master the Sentinels currently name. */
  currentMaster(): Promise<number>
  /** SIGKILLs a data node (a crash: no shutdown, no final save). */
  crash(node: RedisProcess): Promise<void>
  /**
   * Starts a crashed data node again on its port and its files; as a replica of `replicaOf` when
   * given (what its configuration says once the Sentinels rewrote it), else as it was.
   */
  restart(node: RedisProcess, replicaOf?: number): Promise<void>
  stop(): Promise<void>
}

/**
 * A Cluster of `masters` masters, on `ports` when given (from `freeClusterPort`: a Cluster that
 * comes up late, where a gateway already looks for it).
 */
export async function startRedisCluster(
  masters = 3,
  { password, ports = [] }: Pick<TopologyPasswords, 'password'> & { ports?: readonly number[] } = {}
): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-cluster-'))
  const processes: RedisProcess[] = []
  const cli = (port: number, ...args: string[]) => redisCli(port, ...authArgs(password), ...args)
  try {
    for (let i = 0; i < masters; i++) {
      const port = ports[i] ?? (await freeClusterPort())
      const nodeDir = join(dir, String(port))
      await run('mkdir', ['-p', nodeDir])
      const args = [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
        ...['--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no'],
        ...passwordArgs(password),
      ]
      processes.push({ port, child: await launch(['redis-server', ...args], port, { password }) })
    }
    const addresses = processes.map(({ port }) => `127.0.0.1:${port}`)
    await run('redis-cli', [
      ...authArgs(password),
      ...['--cluster', 'create', ...addresses, '--cluster-yes'],
    ])
    for (const { port } of processes) {
      await until(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'))
    }
  } catch (error) {
    await stopAll(processes, dir)
    throw error
  }
  return {
    url: `redis-cluster://${processes.map(({ port }) => `127.0.0.1:${port}`).join(',')}`,
    masters: processes,
    cli,
    stop: () => stopAll(processes, dir),
  }
}

export async function startRedisSentinels(
  sentinelCount = 3,
  { password, sentinelPassword }: TopologyPasswords = {}
): Promise<RedisSentinels> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-sentinel-'))
  const masterName = 'gateway-master'
  const data: RedisProcess[] = []
  const sentinels: RedisProcess[] = []
  const isSentinel = (port: number) => sentinels.some((sentinel) => sentinel.port === port)
  const cli = (port: number, ...args: string[]) =>
    redisCli(port, ...authArgs(isSentinel(port) ? sentinelPassword : password), ...args)
  const dataArgs = (port: number) => [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', join(dir, String(port))],
    ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
    ...['--repl-ping-replica-period', '1', '--enable-debug-command', 'local'],
    // A replica's full sync starts at once, not after the default 5 s wait for more replicas.
    ...['--repl-diskless-sync-delay', '0'],
    ...passwordArgs(password),
  ]
  try {
    const masterPort = await freePort()
    const replicaPort = await freePort()
    for (const port of [masterPort, replicaPort])
      await run('mkdir', ['-p', join(dir, String(port))])
    data.push({
      port: masterPort,
      child: await launch(['redis-server', ...dataArgs(masterPort)], masterPort, { password }),
    })
    const replicaArgs = [...dataArgs(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)]
    data.push({
      port: replicaPort,
      child: await launch(['redis-server', ...replicaArgs], replicaPort, { password }),
    })
    await until(async () =>
      (await cli(replicaPort, 'info', 'replication')).includes('master_link_status:up')
    )
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort()
      const config = join(dir, `sentinel-${port}.conf`)
      await writeFile(
        config,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 5000`,
          `sentinel parallel-syncs ${masterName} 1`,
          ...(password === undefined ? [] : [`sentinel auth-pass ${masterName} ${password}`]),
          // Sentinels that want a password ask each other with the same one.
          ...(sentinelPassword === undefined ? [] : [`requirepass ${sentinelPassword}`]),
          '',
        ].join('\n')
      )
      const child = await launch(['redis-server', config, '--sentinel'], port, {
        password: sentinelPassword,
      })
      sentinels.push({ port, child })
    }
    // Each Sentinel has found the replica and the other Sentinels before any test relies on them.
    for (const { port } of sentinels) {
      await until(async () => {
        const master = await cli(port, 'sentinel', 'master', masterName)
        return /num-slaves\n1\n/.test(master) && /num-other-sentinels\n2\n/.test(master)
      })
    }
  } catch (error) {
    await stopAll([...sentinels, ...data], dir)
    throw error
  }
  return {
    url: `redis-sentinel://${sentinels.map(({ port }) => `127.0.0.1:${port}`).join(',')}/${masterName}`,
    masterName,
    data,
    sentinels,
    cli,
    async currentMaster() {
      const [, port] = (
        await cli(sentinels[0]?.port ?? 0, 'sentinel', 'get-master-addr-by-name', masterName)
      ).split('\n')
      return Number(port)
    },
    async crash(node) {
      await kill(node.child, 'SIGKILL')
    },
    async restart(node, replicaOf) {
      const follow = replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]
      node.child = await launch(['redis-server', ...dataArgs(node.port), ...follow], node.port, {
        password,
      })
    },
    stop: () => stopAll([...sentinels, ...data], dir),
  }
}

/**
 * One Redis, without persistence, on a port chosen beforehand (a store that comes up late), with
 * `--requirepass` when a password is given.
 */
export async function startRedisOnPort(
  port: number,
  options: { password?: string } = {}
): Promise<{ stop(): Promise<void> }> {
  const { password } = options
  const args = ['--port', String(port), '--save', '', ...passwordArgs(password)]
  const child = await launch(['redis-server', ...args], port, { password })
  return { stop: () => kill(child, 'SIGKILL') }
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 })
  return stdout
}

async function launch(
  [binary = '', ...args]: string[],
  port: number,
  { password }: { password?: string | undefined } = {}
): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`${binary} exited early with code ${code}`)))
    child.once('error', (error) =>
      reject(
        new Error(
          `${binary} could not be started (${error.message}): run scripts/ensure-system-packages.sh`
        )
      )
    )
  })
  exited.catch(() => {})
  await Promise.race([
    until(async () => (await redisCli(port, ...authArgs(password), 'ping')).trim() === 'PONG'),
    exited,
  ])
  return child
}

/** A data node that wants `password` of its clients and gives it to its master. */
function passwordArgs(password: string | undefined): string[] {
  return password === undefined ? [] : ['--requirepass', password, '--masterauth', password]
}

function authArgs(password: string | undefined): string[] {
  return password === undefined ? [] : ['--no-auth-warning', '-a', password]
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${check.toString().slice(0, 200)}`)
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await exited
}

async function stopAll(processes: readonly RedisProcess[], dir: string): Promise<void> {
  await Promise.all(processes.map(({ child }) => kill(child, 'SIGKILL')))
  await rm(dir, { recursive: true, force: true })
}

/** A free port whose cluster bus port (port + 10000) is free too. */
export async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port + 10_000 < 65_536 && (await canListen(port + 10_000))) return port
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
