import type { Clock } from './clock.ts'
import type { Config } from './config.ts'
import type { SigningKeys } from './keys/signing-keys.ts'
import type { Logger } from './logger.ts'
import type { Store } from './store/store.ts'

/** What the authorization server is built from; `main.ts` makes it, tests make their own. */
export interface AuthDeps {
  readonly config: Config
  readonly store: Store
  readonly clock: Clock
  readonly signingKeys: SigningKeys
  readonly logger: Logger
}
