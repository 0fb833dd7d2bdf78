import type { AuthDeps } from '../deps.ts'
import { AuthorizationErrorPage, InvalidRequest } from '../errors.ts'
import type { TokenSubject } from '../oauth/access-token.ts'
import { refuseUnlessAllowed } from '../users/sign-in-refusal.ts'
import { decideDeviceAuthorization, findByDeviceCodeHash } from './device-authorization.ts'

/**
 * The end of the browser part of the device flow: the allow-list decides, the device is told.
 * Resolves once the approval is recorded; a refusal or a late answer is thrown as its page.
 */
export async function completeDeviceAuthorization(
  deps: AuthDeps,
  deviceCodeHash: string,
  subject: TokenSubject
): Promise<void> {
  const { store, logger } = deps
  const refused = await refuseUnlessAllowed(
    deps,
    subject,
    'device',
    async () => (await findByDeviceCodeHash(store, deviceCodeHash))?.clientId
  )
  if (refused) {
    await decideDeviceAuthorization(store, deviceCodeHash, { status: 'denied' })
    throw new AuthorizationErrorPage(refused)
  }
  if (!(await decideDeviceAuthorization(store, deviceCodeHash, { status: 'approved', subject }))) {
    throw alreadyAnswered()
  }
  logger.info({ event: 'device_approved', user_id: subject.id, login: subject.login })
}

/**
 * The page for an answer that came too late: another answer (another tab, another person with
 * the code) was recorded first, or the code expired. Which one won is the device's to tell.
 */
export function alreadyAnswered(): AuthorizationErrorPage {
  return new AuthorizationErrorPage(
    new InvalidRequest(
      'this code was already answered or has expired: your device shows the outcome',
      {
        reason: 'device_code_decided',
      }
    )
  )
}
