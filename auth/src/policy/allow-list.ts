/**
 * One entry of a user allow-list (`ALLOWED_GITHUB_USERS`, `MCP_<NAME>_ALLOWED_USERS`): GitHub's
 * numeric user id, which never changes, or a login, which its owner can rename and someone else
 * can then register. Ids are the safer choice; logins stay accepted because they are what people
 * know.
 */
export type UserEntry = { readonly id: string } | { readonly login: string }

/**
 * Who the list is asked about: a user as the identity provider describes them (`TokenSubject`
 * has this shape), with the organisations and teams found among those the policies name.
 */
export interface ListedSubject {
  readonly id: string
  readonly login: string
  readonly orgs?: readonly string[] | undefined
  readonly teams?: readonly string[] | undefined
}

export interface AllowList {
  /** Listed users, or '*' for every user. */
  readonly users: readonly UserEntry[] | '*'
  readonly orgs: readonly string[]
  /** `org/team-slug`, lower-cased. */
  readonly teams?: readonly string[]
}

/**
 * Why the allow-list refuses a user, machine-readable (logs, the audit trail): the most specific
 * kind of entry the list has, since the user matched none of them.
 */
export type AllowListRefusal =
  | 'not_in_allowed_team'
  | 'not_in_allowed_org'
  | 'not_an_allowed_user'
  | 'allow_list_empty'

/** The gateway-wide list: `ALLOWED_GITHUB_USERS`, `_ORGS` and `_TEAMS`. */
export function gatewayAllowList(config: {
  readonly allowedUsers: AllowList['users']
  readonly allowedOrgs: readonly string[]
  readonly allowedTeams: readonly string[]
}): AllowList {
  return { users: config.allowedUsers, orgs: config.allowedOrgs, teams: config.allowedTeams }
}

/** A GitHub login, including the older forms GitHub still honours (double or trailing hyphens). */
const LOGIN = /^[a-z\d][a-z\d-]{0,38}$/i

/**
 * Reads one entry: `id:<digits>` is a user id; `login:<name>` or a bare `<name>` is a login
 * (compared case-insensitively, as on GitHub). A bare all-digit entry is refused: GitHub logins
 * can be all digits too, so it could name either of two different people.
 *
 * @throws Error with a message saying how to write the entry.
 */
export function parseUserEntry(entry: string): UserEntry {
  const separator = entry.indexOf(':')
  const kind = separator < 0 ? undefined : entry.slice(0, separator).toLowerCase()
  const value = separator < 0 ? entry : entry.slice(separator + 1)
  if (kind === 'id') {
    if (!/^\d{1,20}$/.test(value)) throw new Error(`${entry}: an id is GitHub's numeric user id`)
    return { id: value.replace(/^0+(?=\d)/, '') }
  }
  if (kind !== undefined && kind !== 'login') {
    throw new Error(`${entry}: write id:<number> or login:<name>`)
  }
  if (!LOGIN.test(value)) throw new Error(`${entry}: not a GitHub login`)
  if (kind === undefined && /^\d+$/.test(value)) {
    throw new Error(`${entry} is ambiguous: write id:${value} (a user id) or login:${value}`)
  }
  return { login: value.toLowerCase() }
}

/** Whether the list names the user, by id or by current login. */
export function listsUser(
  entries: readonly UserEntry[],
  subject: { readonly id: string; readonly login: string }
): boolean {
  const login = subject.login.toLowerCase()
  return entries.some((entry) => ('id' in entry ? entry.id === subject.id : entry.login === login))
}

/**
 * Whether a user may use the gateway: named in the list, an active member of a listed
 * organisation, or a member of a listed team. Empty lists let nobody in.
 */
export function isAllowed(subject: ListedSubject, allowList: AllowList): boolean {
  if (allowList.users === '*') return true
  if (listsUser(allowList.users, subject)) return true
  const orgs = new Set((subject.orgs ?? []).map((org) => org.toLowerCase()))
  if (allowList.orgs.some((org) => orgs.has(org.toLowerCase()))) return true
  const teams = new Set((subject.teams ?? []).map((team) => team.toLowerCase()))
  return (allowList.teams ?? []).some((team) => teams.has(team))
}

/** The list decides by id and login alone: it names no organisation or team. */
export function namesUsersOnly(allowList: AllowList): boolean {
  return allowList.orgs.length === 0 && (allowList.teams ?? []).length === 0
}

/** Nobody at all can be let in: no user, organisation or team is listed. */
export function letsNobodyIn(allowList: AllowList): boolean {
  return (
    allowList.users !== '*' &&
    allowList.users.length === 0 &&
    allowList.orgs.length === 0 &&
    (allowList.teams ?? []).length === 0
  )
}

/** Undefined when the list lets the user in, else why not. */
export function allowListRefusal(
  subject: ListedSubject,
  allowList: AllowList
): AllowListRefusal | undefined {
  if (isAllowed(subject, allowList)) return undefined
  if ((allowList.teams ?? []).length > 0) return 'not_in_allowed_team'
  if (allowList.orgs.length > 0) return 'not_in_allowed_org'
  return letsNobodyIn(allowList) ? 'allow_list_empty' : 'not_an_allowed_user'
}
