/** The bridge's public surface, for the gateway's standalone mode and for tests. */
export { type Bridge, type BridgeDeps, createBridge } from './bridge.ts'
export {
  findService,
  type ServiceDefinition,
  serviceCatalog,
} from './catalog.ts'
export { createChildUsers } from './child-ids.ts'
export { childUserAdvice } from './child-user.ts'
export {
  assertChildUserUsable,
  type BridgeConfig,
  BridgeConfigError,
  parseBridgeConfig,
} from './config.ts'
export { createLogger } from './logger.ts'
export { hostAndOriginCheck } from './request-guard.ts'
