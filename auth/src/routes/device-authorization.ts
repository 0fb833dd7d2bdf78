import { Hono } from 'hono'
import { z } from 'zod'
import { authenticateClient } from '../clients/client-authentication.ts'
import { clientLookup, recordUse } from '../clients/client-lookup.ts'
import { DEVICE_CODE_GRANT } from '../clients/client-metadata.ts'
import type { AuthDeps } from '../deps.ts'
import {
  DEFAULT_INTERVAL_SECONDS,
  startDeviceAuthorization,
} from '../device/device-authorization.ts'
import { formatUserCode } from '../device/user-code.ts'
import { UnauthorizedClient } from '../errors.ts'
import { readFormBody } from '../http/body.ts'
import { callerAddress } from '../http/caller.ts'
import { optionalParam, parseParams } from '../http/params.ts'
import { rateLimit } from '../http/rate-limit.ts'
import { namedResources, resolveResources } from '../oauth/resource.ts'
import { grantedScopes } from '../oauth/scope.ts'

/** RFC 8628 §3.1 parameters (client authentication is checked first). */
const deviceAuthorizationRequest = z.object({ scope: optionalParam(1000) })

/**
 * Device authorizations per minute from one caller and from all together. A person starts one
 * per device sign-in; each holds two keys for DEVICE_CODE_TTL, so the global limit bounds them.
 */
export const DEVICE_AUTHORIZATION_LIMITS = { perCaller: 20, global: 200, windowSeconds: 60 }

/**
 * `POST /device_authorization` (RFC 8628 §3.1–3.2): a CLI or device without a browser asks for a
 * device code and a short user code that its user types at `/device`.
 */
export const deviceAuthorizationRoute = (deps: AuthDeps) => {
  const { config, store, clock, logger } = deps
  const registry = clientLookup(deps)
  const limit = rateLimit({
    store,
    clock,
    bucket: 'device-authorization',
    limit: DEVICE_AUTHORIZATION_LIMITS.perCaller,
    globalLimit: DEVICE_AUTHORIZATION_LIMITS.global,
    windowSeconds: DEVICE_AUTHORIZATION_LIMITS.windowSeconds,
    trustProxy: config.trustProxy,
    description: 'too many device authorizations, retry later',
  })
  return new Hono().post('/device_authorization', limit, async (c) => {
    const { form, params } = await readFormBody(c, { repeatable: ['resource'] })
    const client = await authenticateClient(registry, {
      authorizationHeader: c.req.header('authorization'),
      form,
      caller: callerAddress(c, config.trustProxy),
    })
    if (!client.metadata.grant_types.includes(DEVICE_CODE_GRANT)) {
      throw new UnauthorizedClient(
        'this client is not registered for the device authorization grant'
      )
    }
    const { scope } = parseParams(deviceAuthorizationRequest, form)
    const resources = resolveResources(params.getAll('resource'), config.protectedResources)
    const named = namedResources(resources, config.protectedResources)
    const { deviceCode, userCode } = await startDeviceAuthorization(
      store,
      {
        clientId: client.client_id,
        scopes: grantedScopes(scope, named),
        resources,
      },
      config.ttl.deviceCode
    )
    await recordUse(registry, client.client_id, logger)
    logger.info({ event: 'device_authorization_started', client_id: client.client_id })
    const verificationUri = `${config.issuer}/device`
    return c.json(
      {
        device_code: deviceCode,
        user_code: formatUserCode(userCode),
        verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?user_code=${formatUserCode(userCode)}`,
        expires_in: config.ttl.deviceCode,
        interval: DEFAULT_INTERVAL_SECONDS,
      },
      200,
      { 'Cache-Control': 'no-store', Pragma: 'no-cache' }
    )
  })
}
