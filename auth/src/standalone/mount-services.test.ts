import { Hono } from 'hono'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { parseBridgeConfig } from '../../../mcp-services/src/index.ts'
import type { UserDirectory } from '../../../mcp-services/src/user-directory.ts'
import type { AuthDeps } from '../deps.ts'
import { mountServices } from './mount-services.ts'

describe('mountServices', () => {
  it('refuses BRIDGE_PEERS: replicas forward to bridges on their own listeners', () => {
    const config = parseBridgeConfig({
      BRIDGE_PEERS: 'a=http://127.0.0.1:3001,b=http://127.0.0.1:3002',
      BRIDGE_REPLICA_ID: 'a',
    })
    // Refused before anything of the deployment is used.
    expect(() =>
      mountServices(
        new Hono(),
        {} as AuthDeps,
        config,
        pino({ level: 'silent' }),
        {} as UserDirectory
      )
    ).toThrow(/BRIDGE_PEERS/)
  })
})
