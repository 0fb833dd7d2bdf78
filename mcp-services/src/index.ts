/** The bridge's public surface, for the gateway's standalone mode and for tests. */
export { type Bridge, type BridgeDeps, createBridge } from './bridge.ts'
export {
  findService,
  type ServiceDefinition,
  serviceCatalog,
} from './catalog.ts'
export { childUserAdvice, createChildUsers } from './child-user.ts'
export {
  assertChildUserUsable,
  type BridgeConfig,
  BridgeConfigError,
  parseBridgeConfig,
} from './config.ts'
export { createLogger } from './logger.ts'
