import type { AuditTrail } from './audit/audit-trail.ts'
import type { MetadataDocumentClients } from './clients/metadata-document-clients.ts'
import type { Clock } from './clock.ts'
import type { Config } from './config.ts'
import type { SigningKeys } from './keys/signing-keys.ts'
import type { Logger } from './logger.ts'
import type { AuthMetrics } from './metrics/auth-metrics.ts'
import type { Readiness } from './readiness.ts'
import type { ReplicaAgreement } from './replicas/replica-watch.ts'
import type { Store } from './store/store.ts'
import type { ConfiguredUpstream } from './upstream/configured-upstream.ts'

/** What the authorization server is built from; `main.ts` makes it, tests make their own. */
export interface AuthDeps {
  readonly config: Config
  readonly store: Store
  readonly clock: Clock
  readonly signingKeys: SigningKeys
  readonly logger: Logger
  /** Where audited events go: standard output, and the store's stream when kept (docs/audit.md). */
  readonly audit: AuditTrail
  /**
   * Where users sign in (GitHub) and where their upstream grants are kept; absent when no
   * identity provider is configured, and then nobody can authorize.
   */
  readonly upstream?: ConfiguredUpstream
  /** Clients identified by a metadata document URL; absent when CIMD is turned off. */
  readonly metadataDocumentClients?: MetadataDocumentClients
  /** Turned off on shutdown (`/ready` then answers 503); absent: ready while the store answers. */
  readonly readiness?: Readiness
  /** Prometheus metrics (docs/metrics.md), served on the internal port; absent: not counted. */
  readonly metrics?: AuthMetrics
  /**
   * Whether the other replicas on the store share this one's settings (`replica-watch.ts`), for
   * verdicts that cannot be taken back; absent, or never looked: they are taken as agreeing.
   */
  readonly replicas?: ReplicaAgreement
}
