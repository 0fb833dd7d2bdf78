import type { TokenSubject } from '../oauth/access-token.ts'

export interface AllowList {
  /** GitHub logins, or '*' for every user. */
  readonly users: readonly string[] | '*'
  readonly orgs: readonly string[]
}

/**
 * Whether a user may use the gateway: named in the list (logins compare case-insensitively, as
 * on GitHub), or an active member of a listed organisation. Empty lists let nobody in.
 */
export function isAllowed(subject: TokenSubject, allowList: AllowList): boolean {
  if (allowList.users === '*') return true
  const login = subject.login.toLowerCase()
  if (allowList.users.some((user) => user.toLowerCase() === login)) return true
  const orgs = new Set((subject.orgs ?? []).map((org) => org.toLowerCase()))
  return allowList.orgs.some((org) => orgs.has(org.toLowerCase()))
}
