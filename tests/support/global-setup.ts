import type { TestProject } from 'vitest/node'
import { startRedisServer } from './redis-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis server shared by the whole run; each test file uses its own key prefix. */
    redisUrl: string
  }
}

export default async function setup(project: TestProject) {
  const redis = await startRedisServer()
  project.provide('redisUrl', redis.url)
  return () => redis.stop()
}
