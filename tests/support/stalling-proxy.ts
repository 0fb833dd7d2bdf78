import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { freePort } from './free-port.ts'
import { startRedisOnPort } from './redis-topologies.ts'

/**
 * A TCP relay in front of a real Redis that can stall the way a network or an overloaded server
 * does: once armed, the first chunk a client sends that `matches` is held, with everything that
 * client sends after it, for `holdMs`, then delivered in order. Redis then runs the held command
 * after its sender has given up waiting, as it would after a stall. Or the connections open now
 * go silent for good, neither delivering nor closing (a host gone, a stale conntrack entry), while
 * new ones are relayed as before.
 */
export interface StallingProxy {
  readonly port: number
  /** Holds the next chunk that `matches` (and what follows it on that connection). */
  arm(matches: (chunk: Buffer) => boolean, holdMs: number): void
  /** Resolves once a held chunk has been delivered. */
  released(): Promise<void>
  /** The connections open now stop relaying, in both directions, without closing. */
  silenceOpenConnections(): void
  /** How many connections clients have opened through it so far. */
  connectionsOpened(): number
  close(): Promise<void>
}

export async function startStallingProxy(upstreamPort: number): Promise<StallingProxy> {
  let armed: { matches: (chunk: Buffer) => boolean; holdMs: number } | undefined
  let release: (() => void) | undefined
  let releasedOnce = new Promise<void>((resolve) => {
    release = resolve
  })
  const sockets = new Set<Socket>()
  const silenced = new WeakSet<Socket>()
  let opened = 0
  const relay = (client: Socket) => {
    opened++
    const upstream = connect(upstreamPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    }
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    upstream.on('data', (chunk) => {
      if (!silenced.has(client)) client.write(chunk)
    })
    let held: Buffer[] | undefined
    client.on('data', (chunk: Buffer) => {
      if (silenced.has(client)) return
      if (held) return void held.push(chunk)
      if (armed?.matches(chunk)) {
        const { holdMs } = armed
        armed = undefined
        held = [chunk]
        setTimeout(() => {
          for (const part of held ?? []) upstream.write(part)
          held = undefined
          release?.()
        }, holdMs)
        return
      }
      upstream.write(chunk)
    })
  }
  const server: Server = createServer(relay).listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    arm(matches, holdMs) {
      armed = { matches, holdMs }
      releasedOnce = new Promise<void>((resolve) => {
        release = resolve
      })
    },
    released: () => releasedOnce,
    silenceOpenConnections() {
      for (const socket of sockets) silenced.add(socket)
    },
    connectionsOpened: () => opened,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A Redis of its own from the binary, reached only through a `StallingProxy` (`url`). */
export interface RedisBehindProxy {
  readonly proxy: StallingProxy
  readonly url: string
  stop(): Promise<void>
}

export async function startRedisBehindProxy(): Promise<RedisBehindProxy> {
  const port = await freePort()
  const redis = await startRedisOnPort(port)
  const proxy = await startStallingProxy(port)
  return {
    proxy,
    url: `redis://127.0.0.1:${proxy.port}`,
    async stop() {
      await proxy.close()
      await redis.stop()
    },
  }
}
