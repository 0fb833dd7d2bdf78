import { mkdir } from 'node:fs/promises'
import type { ServiceDefinition } from './catalog.ts'
import type { ChildUsers } from './child-ids.ts'
import type { ChildSpec } from './child-process.ts'
import { makeDirectoriesAs, runAs } from './child-user.ts'
import { type Identity, identityEnvironment } from './identity.ts'
import type { ResolvedLaunch } from './resolve-launch.ts'
import { renderTemplate, type TemplateValues } from './template.ts'

/**
 * What a service that acts as the user on GitHub (`actAsGitHubUser`) needs to start a child: the
 * REST root and where the user's own token comes from (the auth server's user directory).
 */
export interface GitHubAccess {
  /** `GITHUB_API_URL` of the bridge: the REST root the child calls. */
  readonly apiUrl: string
  /** The user's GitHub token as the gateway keeps it; undefined when it keeps none. */
  githubToken(userId: string): Promise<{ readonly access_token: string } | undefined>
}

/**
 * The command line and environment of one user's child: the catalog's templates rendered for
 * that user, the per-user directories created (by the children's user when it is another), run as
 * the user `childUsers` gives it (`CHILD_USER`, `CHILD_UID_RANGE`; the id is given back when the
 * child ends: `onExit`), the identity added when the service asks for it,
 * and, for a service acting as the user on GitHub, their token. The token goes into the
 * environment only: arguments are visible to anyone on the host (`ps`), the environment is not.
 */
export async function childSpecFor(
  service: ServiceDefinition,
  launch: ResolvedLaunch,
  identity: Identity,
  placement: { readonly dataDir: string; readonly childUsers?: ChildUsers | undefined },
  github?: GitHubAccess
): Promise<ChildSpec> {
  const values: TemplateValues = { userId: identity.userId, dataDir: placement.dataDir }
  const directories = service.perUserDirectories.map((directory) =>
    renderTemplate(directory, values)
  )
  const allotted = await placement.childUsers?.forChild(directories.length > 0)
  try {
    if (allotted) await makeDirectoriesAs(allotted.user, directories)
    else for (const directory of directories) await mkdir(directory, { recursive: true })
    const spec: ChildSpec = {
      command: launch.command,
      args: [launch.script, ...service.args.map((arg) => renderTemplate(arg, values))],
      env: await childEnvironment(service, identity, values, github),
    }
    return allotted ? { ...runAs(allotted.user, spec), onExit: allotted.release } : spec
  } catch (error) {
    allotted?.release()
    throw error
  }
}

async function childEnvironment(
  service: ServiceDefinition,
  identity: Identity,
  values: TemplateValues,
  github: GitHubAccess | undefined
): Promise<Record<string, string>> {
  const env: Record<string, string> = {}
  for (const [name, template] of Object.entries(service.env)) {
    env[name] = renderTemplate(template, values)
  }
  if (service.passIdentity) Object.assign(env, identityEnvironment(identity))
  if (service.actAsGitHubUser && github) {
    env.GITHUB_API_URL = github.apiUrl
    // None kept (a development sign-in, an ended grant), or the directory could not answer: the
    // child starts without one and its tools say which, so the MCP handshake never fails on it.
    try {
      const token = await github.githubToken(identity.userId)
      if (token) env.MCP_GATEWAY_GITHUB_TOKEN = token.access_token
    } catch {
      env.MCP_GATEWAY_GITHUB_TOKEN_UNAVAILABLE = 'true'
    }
  }
  return env
}
