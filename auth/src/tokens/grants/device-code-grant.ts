import { z } from 'zod'
import type { ClientRecord } from '../../clients/client-registry.ts'
import type { AuthDeps } from '../../deps.ts'
import {
  findByDeviceCodeHash,
  pacePoll,
  redeemDeviceAuthorization,
  wasRedeemed,
} from '../../device/device-authorization.ts'
import {
  AuthorizationPending,
  DeviceAccessDenied,
  ExpiredToken,
  InvalidGrant,
  RevokedGrant,
  SlowDown,
} from '../../errors.ts'
import { parseParams, requiredParam } from '../../http/params.ts'
import { hashSecret } from '../../oauth/secrets.ts'
import type { Store } from '../../store/store.ts'
import { firstTokens } from '../first-tokens.ts'
import type { TokenResponse } from '../token-response.ts'

/** RFC 8628 §3.4 parameters (client authentication is already done). */
const deviceCodeRequest = z.object({ device_code: requiredParam(256) })

/**
 * RFC 8628 §3.4–3.5: the device polls until the user has answered. Polling faster than the
 * interval is `slow_down`; an approved authorization is redeemed exactly once.
 */
export async function deviceCodeGrant(
  deps: AuthDeps,
  client: ClientRecord,
  form: Readonly<Record<string, string>>,
  requestedResources: readonly string[]
): Promise<TokenResponse> {
  const { config, store, clock } = deps
  const { device_code: deviceCode } = parseParams(deviceCodeRequest, form)
  if (requestedResources.length > 0)
    throw new InvalidGrant('resource belongs in the device authorization request')
  const deviceCodeHash = hashSecret(deviceCode)
  const authorization = await findByDeviceCodeHash(store, deviceCodeHash)
  if (!authorization) throw await missingCodeRefusal(store, deviceCodeHash)
  if (authorization.clientId !== client.client_id) {
    throw new InvalidGrant('the device code was issued to another client', {
      reason: 'device_code_of_another_client',
    })
  }
  if ((await pacePoll(store, clock, deviceCodeHash, config.ttl.deviceCode)) === 'slow_down') {
    throw new SlowDown('polling too fast: wait 5 seconds more between requests')
  }
  if (authorization.status === 'pending')
    throw new AuthorizationPending('the user has not answered yet')
  // An approval is marked redeemed as it is taken: a poll that loses the race, or comes later, is
  // told it was used; one that finds the code lapsed since it was read, that it expired.
  const redeemed = await redeemDeviceAuthorization(
    store,
    deviceCodeHash,
    authorization.status === 'approved' ? config.ttl.deviceCode : undefined
  )
  if (redeemed === null) throw await missingCodeRefusal(store, deviceCodeHash)
  if (redeemed.status === 'denied') throw new DeviceAccessDenied('the user denied the request')
  if (redeemed.status !== 'approved' || !redeemed.subject) throw alreadyUsed()
  return firstTokens(deps, client, {
    grantType: 'device_code',
    familyId: redeemed.familyId,
    subject: redeemed.subject,
    scopes: redeemed.scopes,
    resources: redeemed.resources,
  }).catch((error: unknown) => {
    // The user took the approval back (or an operator revoked it) before the device collected
    // it: RFC 8628 §3.5 `access_denied` ends the polling, where `expired_token` would invite the
    // device to start a new authorization at once.
    if (!(error instanceof RevokedGrant)) throw error
    throw new DeviceAccessDenied('the authorization was withdrawn', {
      reason: 'device_authorization_withdrawn',
    })
  })
}

/** A device code with no record: used (its redeemed mark says so), or lapsed or never issued. */
async function missingCodeRefusal(
  store: Store,
  deviceCodeHash: string
): Promise<InvalidGrant | ExpiredToken> {
  if (await wasRedeemed(store, deviceCodeHash)) return alreadyUsed()
  return new ExpiredToken('the device code has expired or is unknown; start again')
}

/** RFC 8628 §3.5 has no code for a used device code; RFC 6749 §5.2 `invalid_grant` fits it. */
function alreadyUsed(): InvalidGrant {
  return new InvalidGrant('the device code was already used', { reason: 'device_code_redeemed' })
}
