import { createHash } from 'node:crypto'

/** Values substituted into a service's templated arguments, environment and directories. */
export interface TemplateValues {
  /** The session user's id as the gateway sent it (`X-User-Id`). */
  readonly userId: string
  /** The bridge's data directory (`DATA_DIR`). */
  readonly dataDir: string
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * A form of a user id that is safe as one path segment: GitHub's numeric ids and plain logins
 * pass unchanged; anything else (dots, slashes, very long ids) becomes `u-` + a SHA-256 prefix, so
 * no id can climb out of its directory or collide with a plain one.
 */
export function pathSafeUserId(userId: string): string {
  if (SAFE_ID.test(userId)) return userId
  return `u-${createHash('sha256').update(userId).digest('hex').slice(0, 32)}`
}

/** Replaces `{userId}` (path-safe form) and `{dataDir}` in `template`; other braces stay. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template
    .replaceAll('{userId}', pathSafeUserId(values.userId))
    .replaceAll('{dataDir}', values.dataDir)
}
