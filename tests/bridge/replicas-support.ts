import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { type Bridge, createBridge } from '../../mcp-services/src/bridge.ts'
import { parseBridgeConfig } from '../../mcp-services/src/config.ts'
import { listenerOptions } from '../../mcp-services/src/http-server.ts'
import { onEnd } from '../../mcp-services/src/sse.ts'
import { capturedLogs } from '../../mcp-services/src/testing/captured-logs.ts'
import { fixtureService } from '../../mcp-services/src/testing/harness.ts'
import { startNginxWith } from '../proxies/support/nginx.ts'
import type { RunningProxy } from '../proxies/support/proxy.ts'
import { freePort } from '../support/free-port.ts'

// In-process bridge replicas on listeners of their own, and nginx balancing over them
// (replicas.test.ts).

export const SECRET = 'replica-test-secret-0123456789abcdef'

/** What one replica answered: who sent it (the proxy, or a peer forwarding) and how it went. */
export interface Served {
  readonly method: string
  readonly forwarded: boolean
  readonly status: number
  readonly stream: boolean
}

export interface Replica {
  readonly id: string
  readonly url: string
  readonly served: Served[]
  /** SSE streams this replica is sending that neither ended nor lost their reader. */
  readonly openStreams: () => number
  readonly bridge: Bridge
  /** The warnings and errors it logged, parsed. */
  readonly warnings: Record<string, unknown>[]
  stop(): Promise<void>
}

export interface Listener {
  readonly port: number
  readonly server: ReturnType<typeof serve>
  handle: (request: Request) => Response | Promise<Response>
}

/** A listener on a free port, so the peer list can name every port before any bridge exists. */
export async function listen(): Promise<Listener> {
  const listener = {
    port: 0,
    server: undefined as unknown as ReturnType<typeof serve>,
    handle: (_request: Request): Response | Promise<Response> =>
      new Response(null, { status: 503 }),
  }
  listener.server = await new Promise((resolve) => {
    const started = serve(
      {
        fetch: (request) => listener.handle(request),
        port: 0,
        hostname: '127.0.0.1',
        serverOptions: listenerOptions(),
      },
      () => resolve(started)
    )
  })
  listener.port = (listener.server.address() as AddressInfo).port
  return listener
}

export async function startReplica(
  id: string,
  peers: string,
  listener: Listener
): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), `bridge-${id}-`))
  const config = parseBridgeConfig({
    DATA_DIR: dataDir,
    BRIDGE_SHARED_SECRET: SECRET,
    BRIDGE_REPLICA_ID: id,
    BRIDGE_PEERS: peers,
  })
  const { logger, lines: warnings } = capturedLogs('warn')
  const bridge = createBridge({ service: fixtureService, config, logger, sharedSecret: SECRET })
  const served: Served[] = []
  let openStreams = 0
  listener.handle = async (request) => {
    const response = await bridge.app.fetch(request)
    const stream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    served.push({
      method: request.method,
      forwarded: request.headers.has('x-bridge-forwarded'),
      status: response.status,
      stream,
    })
    if (!stream || !response.body) return response
    openStreams += 1
    const body = onEnd(response.body, () => {
      openStreams -= 1
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
  let stopped = false
  return {
    id,
    url: `http://127.0.0.1:${listener.port}/mcp`,
    served,
    openStreams: () => openStreams,
    bridge,
    warnings,
    async stop() {
      if (stopped) return
      stopped = true
      await bridge.close()
      const closed = new Promise((resolve) => listener.server.close(resolve))
      if ('closeAllConnections' in listener.server) listener.server.closeAllConnections()
      await closed
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** nginx from Debian, balancing round-robin over the replicas, adding the shared secret. */
export async function startRoundRobin(
  ports: readonly number[]
): Promise<RunningProxy & { port: number }> {
  const port = await freePort()
  const servers = ports.map((upstream) => `    server 127.0.0.1:${upstream};`).join('\n')
  const running = await startNginxWith({
    port,
    dirPrefix: 'bridge-replicas-nginx-',
    http: `  upstream bridges {
${servers}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_set_header X-Bridge-Secret ${SECRET};
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_pass http://bridges;
    }
  }
`,
  })
  return { ...running, port }
}
