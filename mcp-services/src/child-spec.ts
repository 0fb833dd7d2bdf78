import { mkdir } from 'node:fs/promises'
import type { ServiceDefinition } from './catalog.ts'
import type { ChildSpec } from './child-process.ts'
import { type Identity, identityEnvironment } from './identity.ts'
import type { ResolvedLaunch } from './resolve-launch.ts'
import { renderTemplate, type TemplateValues } from './template.ts'

/**
 * The command line and environment of one user's child: the catalog's templates rendered for
 * that user, the per-user directories created, the identity added when the service asks for it.
 */
export async function childSpecFor(
  service: ServiceDefinition,
  launch: ResolvedLaunch,
  identity: Identity,
  dataDir: string
): Promise<ChildSpec> {
  const values: TemplateValues = { userId: identity.userId, dataDir }
  for (const directory of service.perUserDirectories) {
    await mkdir(renderTemplate(directory, values), { recursive: true })
  }
  const env: Record<string, string> = {}
  for (const [name, template] of Object.entries(service.env)) {
    env[name] = renderTemplate(template, values)
  }
  return {
    command: launch.command,
    args: [launch.script, ...service.args.map((arg) => renderTemplate(arg, values))],
    env: service.passIdentity ? { ...env, ...identityEnvironment(identity) } : env,
  }
}
