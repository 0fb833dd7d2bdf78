import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'vitest'
import { parse } from 'yaml'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { parseDockerfile } from './dockerfile.ts'
import { ROOT } from './image-replay.ts'
import {
  baseObjects,
  containerOf,
  environment,
  find,
  K8S,
  type K8sObject,
  kubectlAvailable,
  readObjects,
  render,
} from './kubernetes-manifests.ts'

/**
 * kubernetes/ tells the same story as docker-compose.yml, traefik/ and the code: every object
 * matches its Kubernetes or Traefik CRD schema, and every name, port, header, variable and secret
 * is one the project really has. No cluster runs here; the lists come from the project's files.
 * The checks, by object kind: kubernetes-{workloads,environment,routing,network-policies}.test.ts
 * for each deployment (`checkEachDeployment`), kubernetes-kustomization.test.ts for the files.
 */
export const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const envExample = read('.env.example')
export const inEnvExample = (name: string) => new RegExp(`^#? ?${name}=`, 'm').test(envExample)

export interface Router {
  rule: string
  priority?: number
  middlewares?: string[]
}
interface ComposeService {
  image?: string
  build?: { dockerfile: string }
  command?: string[]
  environment?: Record<string, string>
  mem_limit?: string
  cap_add?: string[]
}
export const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>
}
export const traefikRouters = {
  ...(parse(read('traefik/dynamic/auth.yml')) as { http: { routers: Record<string, Router> } }).http
    .routers,
  ...(parse(read('traefik/dynamic/services.yml')) as { http: { routers: Record<string, Router> } })
    .http.routers,
}
export const traefikMiddlewares = (
  parse(read('traefik/dynamic/middlewares.yml')) as {
    http: { middlewares: Record<string, Record<string, unknown>> }
  }
).http.middlewares
export const bridgeSecretTemplate = readObjects(join(K8S, 'bridge-secret.example.yaml'))
export const secretTemplate = readObjects(join(K8S, 'secret.example.yaml'))

/** The image each Dockerfile builds, as compose names it. */
export const imageOf = (dockerfile: string) =>
  Object.values(compose.services).find((service) => service.build?.dockerfile === dockerfile)?.image
export const dockerfileEnv = (path: string) => parseDockerfile(read(path)).env

/**
 * The Prometheus pods the NetworkPolicies let scrape /metrics (docs/metrics.md, "On Kubernetes"):
 * one peer, so both must match.
 */
export const PROMETHEUS = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
}

/** The rules of traefik/dynamic with BASE_DOMAIN filled in, as a CRD route's match reads. */
export const composeRule = (router: string, domain: string) =>
  traefikRouters[router]?.rule.replace('{{ env "BASE_DOMAIN" }}', domain)

/** What the checks of a deployment ask of it most: auth, its Service and environment, the bridges. */
export function deploymentOf(objects: K8sObject[]) {
  const auth = find(objects, 'Deployment', 'auth')
  const authService = find(objects, 'Service', 'auth')
  const authEnv = environment(objects, containerOf(auth))
  const domain = authEnv.BASE_DOMAIN ?? ''
  /** The catalog services auth protects: the catalog's default unless MCP_<NAME>_ENABLED says. */
  const enabledServices = serviceCatalog.filter((service) => {
    const setting = authEnv[`MCP_${service.name.toUpperCase().replaceAll('-', '_')}_ENABLED`]
    return setting === undefined ? service.enabledByDefault : setting === 'true'
  })
  const namespace = auth?.metadata.namespace
  const servicePort = (service: K8sObject | undefined, name: string) =>
    service?.spec.ports.find((port: { name: string }) => port.name === name)?.port
  return { objects, auth, authService, authEnv, domain, enabledServices, namespace, servicePort }
}

export type Deployment = ReturnType<typeof deploymentOf>

/**
 * Declares `check`'s tests for the base as written, and for the example overlay as
 * `kubectl kustomize` renders it (skipped without kubectl).
 */
export function checkEachDeployment(check: (deployment: Deployment) => void): void {
  describe('kubernetes/base', () => {
    describe('as written', () => check(deploymentOf(baseObjects())))
  })
  describe('kubernetes/overlays/example', () => {
    // A skipped block's tests are still declared: without kubectl there is nothing to declare
    // them over, so one skipped test says why.
    if (kubectlAvailable) {
      describe('as kubectl kustomize renders it', () =>
        check(deploymentOf(render('overlays/example'))))
    } else {
      it.skip('as kubectl kustomize renders it (needs kubectl)', () => {})
    }
  })
}
