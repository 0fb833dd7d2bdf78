import type { Consent } from '../authorization/consent.ts'
import type { ClientRecord } from '../clients/client-registry.ts'
import { keyPrefixes } from '../store/keys.ts'
import type { RefreshFamily } from '../tokens/refresh-tokens.ts'
import { describeFamily, type FamilyListing, isoDate } from '../tokens/token-families.ts'
import {
  type Backup,
  type BackupHeader,
  backupHeader,
  backupSigningKeyIds,
  type StringEntry,
} from './backup.ts'

/** What a backup holds, for people: names, ids and dates, never a secret or a hash. */
export interface BackupSummary {
  readonly header: BackupHeader
  readonly clients: readonly {
    readonly client_id: string
    readonly client_name: string
    readonly redirect_uris: readonly string[]
    readonly issued_at: string
    readonly expires_at: string | null
  }[]
  readonly signing_keys: readonly string[]
  readonly refresh_families: readonly FamilyListing[]
  readonly consents: readonly {
    readonly user_id: string
    readonly client_id: string
    readonly scopes: readonly string[]
    readonly granted_at: string
  }[]
  readonly upstream_grants: readonly string[]
  readonly revocations: number
}

export function summarizeBackup(backup: Backup, refreshTokenTtl: number): BackupSummary {
  const strings = backup.entries.filter((entry): entry is StringEntry => 'value' in entry)
  const under = (prefix: string) => strings.filter((entry) => entry.key.startsWith(prefix))
  return {
    header: backupHeader(backup),
    clients: under(keyPrefixes.client).map((entry) => {
      const client = JSON.parse(entry.value) as ClientRecord
      return {
        client_id: client.client_id,
        client_name: client.metadata.client_name ?? '',
        redirect_uris: client.metadata.redirect_uris ?? [],
        issued_at: isoDate(client.client_id_issued_at),
        expires_at: entry.expires_at === null ? null : isoDate(entry.expires_at),
      }
    }),
    signing_keys: backupSigningKeyIds(backup),
    refresh_families: under(keyPrefixes.refreshFamily).map((entry) =>
      describeFamily(JSON.parse(entry.value) as RefreshFamily, entry.expires_at, refreshTokenTtl)
    ),
    consents: under(keyPrefixes.consent).map((entry) => {
      const [userId = '', ...clientId] = entry.key.slice(keyPrefixes.consent.length).split(':')
      const consent = JSON.parse(entry.value) as Consent
      return {
        user_id: userId,
        client_id: clientId.join(':'),
        scopes: consent.scopes,
        granted_at: isoDate(consent.grantedAt),
      }
    }),
    upstream_grants: under(keyPrefixes.upstreamGrant).map((entry) =>
      entry.key.slice(keyPrefixes.upstreamGrant.length)
    ),
    revocations: under(keyPrefixes.revocationMarker).length,
  }
}
