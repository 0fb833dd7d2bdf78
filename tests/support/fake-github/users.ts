// The fake's users: as tests give them, and as the fake keeps them.

export type OrgState = 'active' | 'pending'
export type OrgRole = 'admin' | 'member' | 'billing_manager'

export interface FakeGitHubEmail {
  email: string
  primary: boolean
  verified: boolean
  visibility: 'public' | 'private' | null
}

/** A user as given to `addUser`. */
export interface FakeGitHubUserInput {
  id: number
  login: string
  name?: string | null
  /** The public e-mail shown on `/user` (GitHub shows `null` when none is public). */
  email?: string | null
  /** `/user/emails`; default: `email` (or `<login>@example.com`, private) as the verified primary. */
  emails?: FakeGitHubEmail[]
  orgs?: Record<string, OrgState | { state: OrgState; role: OrgRole }>
  /** Team memberships by `org/team-slug`. */
  teams?: Record<string, TeamState | { state: TeamState; role: TeamRole }>
}

export type TeamState = 'active' | 'pending'
export type TeamRole = 'member' | 'maintainer'

export interface FakeGitHubUser {
  readonly id: number
  readonly login: string
  readonly name: string | null
  readonly email: string | null
  readonly emails: FakeGitHubEmail[]
  /** Lower-cased org login → membership. */
  readonly orgs: Map<string, { org: string; state: OrgState; role: OrgRole }>
  /** Lower-cased `org/slug` → team membership. */
  readonly teams: Map<string, { org: string; slug: string; state: TeamState; role: TeamRole }>
}
