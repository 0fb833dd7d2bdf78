import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

/**
 * CPU time per request of each process a run keeps busy, in microseconds: the bench's own Node
 * process (serving whichever server is under load), the Redis server, and the load generator.
 * On a 2-core machine these share 2,000,000 µs a second, so their sum bounds the throughput
 * whatever one of them does alone; it is how the bench tells work from waiting.
 */
export interface CpuPerRequest {
  readonly server: number
  readonly redis: number
  readonly loadGenerator: number
}

export interface CpuReading {
  readonly process: number
  readonly children: number
  readonly redis: number
}

/** Linux reports the times of waited-for children in clock ticks of 1/100 s (USER_HZ). */
const TICK_MICROS = 10_000

/** The user and system time of this process' children that have exited (the load generator). */
function exitedChildrenMicros(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  // Fields after the command name (which may hold spaces); cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) * TICK_MICROS
}

async function redisMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const seconds = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1_000_000
}

export async function readCpu(redis: Redis): Promise<CpuReading> {
  const { user, system } = process.cpuUsage()
  return {
    process: user + system,
    children: exitedChildrenMicros(),
    redis: await redisMicros(redis),
  }
}

/** What a run between two readings cost per request. */
export function cpuPerRequest(
  before: CpuReading,
  after: CpuReading,
  requests: number
): CpuPerRequest {
  return {
    server: (after.process - before.process) / requests,
    redis: (after.redis - before.redis) / requests,
    loadGenerator: (after.children - before.children) / requests,
  }
}
