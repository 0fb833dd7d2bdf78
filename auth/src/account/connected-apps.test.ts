import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../../tests/support/auth-app.ts'
import { createTestRedisStore } from '../../../tests/support/stores.ts'
import type { AuditEvent } from '../audit/audit-trail.ts'
import { rememberConsent } from '../authorization/consent.ts'
import { isFamilyRevoked } from '../oauth/revocation.ts'
import { keys } from '../store/keys.ts'
import { rotateRefreshToken } from '../tokens/refresh-rotation.ts'
import { findRefreshFamily, startRefreshFamily } from '../tokens/refresh-tokens.ts'
import {
  type ConnectedAppsDeps,
  listConnectedApps,
  revokeApp,
  revokeDeviceSession,
} from './connected-apps.ts'

const HOUR = 3600
const lifetimes = { refreshTokenTtl: 30 * 24 * HOUR, accessTokenTtl: HOUR }

describe('connected apps of one person', () => {
  const store = createTestRedisStore()
  const clock = manualClock(Date.UTC(2030, 0, 1))
  const audited: AuditEvent[] = []
  const deps: ConnectedAppsDeps = {
    store,
    clock,
    clientLifetime: 90 * 24 * HOUR,
    lifetimes,
    audit: {
      record: async (event) => {
        audited.push(event)
      },
    },
  }
  afterAll(async () => {
    await store.clear()
    await store.close()
  })

  const family = (
    familyId: string,
    userId: string,
    clientId: string,
    grantType: string | undefined
  ) =>
    startRefreshFamily(
      store,
      clock,
      {
        familyId,
        clientId,
        subject: { id: userId, login: `user-${userId}` },
        scopes: ['mcp'],
        resources: ['https://echo.example.com/mcp'],
        ...(grantType ? { grantType } : {}),
      },
      lifetimes
    )

  it('groups code-flow families by client, keeps device sessions apart, and reads last refresh', async () => {
    await rememberConsent(
      store,
      clock,
      {
        userId: '1',
        clientId: 'consented-only',
        scopes: ['mcp'],
        resources: ['https://echo.example.com/mcp'],
        redirectUris: ['https://app.example.com/callback'],
      },
      deps.clientLifetime
    )
    const token = await family('fam-app-1', '1', 'app-client', 'authorization_code')
    // A family stored before families recorded their grant is listed as an application.
    await family('fam-legacy', '1', 'app-client', undefined)
    await family('fam-device', '1', 'cli-client', 'device_code')
    // Someone else's family listed in this user's index set (it cannot happen, but must not show).
    await family('fam-other', '2', 'app-client', 'authorization_code')
    await store.addToSet(keys.userFamilies('1'), 'fam-other')

    clock.advance(2 * HOUR * 1000)
    const record = await findRefreshFamily(store, 'fam-app-1')
    if (!record) throw new Error('no family')
    await rotateRefreshToken(store, record, token, {
      ttl: lifetimes,
      subject: record.subject,
      grace: { seconds: 0, clock },
    })

    const { apps, devices } = await listConnectedApps(deps, '1')
    expect(apps.map((app) => app.clientId).sort()).toEqual(['app-client', 'consented-only'])
    const app = apps.find((a) => a.clientId === 'app-client')
    expect(app?.families.map((f) => f.id).sort()).toEqual(['fam-app-1', 'fam-legacy'])
    expect(app?.approvedAt).toBeUndefined()
    const refreshed = app?.families.find((f) => f.id === 'fam-app-1')
    expect(refreshed?.last_refreshed_at).toBe(new Date(clock.now()).toISOString())
    const consented = apps.find((a) => a.clientId === 'consented-only')
    expect(consented?.redirectUris).toEqual(['https://app.example.com/callback'])
    expect(consented?.families).toEqual([])
    expect(devices.map((d) => d.family.id)).toEqual(['fam-device'])
  })

  it('revokes an app: its consent, its families; not the device session nor anyone else', async () => {
    expect(await revokeApp(deps, { id: '1', login: 'user-1' }, 'app-client')).toBe(true)
    expect(await isFamilyRevoked(store, 'fam-app-1')).toBe(true)
    expect(await isFamilyRevoked(store, 'fam-legacy')).toBe(true)
    expect(await isFamilyRevoked(store, 'fam-device')).toBe(false)
    expect(await isFamilyRevoked(store, 'fam-other')).toBe(false)
    expect(audited).toContainEqual(
      expect.objectContaining({ event: 'authorization.consent_revoked', by: 'user', families: 2 })
    )
    const { apps } = await listConnectedApps(deps, '1')
    expect(apps.map((a) => a.clientId)).toEqual(['consented-only'])
  })

  it('revokes only what it lists for the person', async () => {
    expect(await revokeApp(deps, { id: '1' }, 'never-connected')).toBe(false)
    expect(await revokeDeviceSession(deps, { id: '1' }, 'fam-other')).toBe(false)
    expect(await revokeDeviceSession(deps, { id: '2' }, 'fam-device')).toBe(false)
    expect(await isFamilyRevoked(store, 'fam-device')).toBe(false)
    expect(await revokeDeviceSession(deps, { id: '1' }, 'fam-device')).toBe(true)
    expect(await isFamilyRevoked(store, 'fam-device')).toBe(true)
  })
})
