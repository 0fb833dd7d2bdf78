import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { IngressRoute, Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1'
import { parse, parseAllDocuments } from 'yaml'
import { ROOT } from './image-replay.ts'

/**
 * The Kubernetes manifests (kubernetes/) as objects: read from the files, or rendered by
 * `kubectl kustomize` when kubectl is installed. No cluster is needed for either.
 */
export const K8S = join(ROOT, 'kubernetes')

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field in the tests
  spec?: any
  data?: Record<string, string>
  stringData?: Record<string, string>
}

export interface Kustomization {
  namespace?: string
  resources: string[]
  components?: string[]
  patches?: { path?: string }[]
}

export const readYaml = (path: string): unknown => parse(readFileSync(path, 'utf8'))

/** Every document of a multi-document YAML file. */
export function readObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]?.message}`)
    return document.toJS() as K8sObject
  })
}

export const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') || file.endsWith('.yml'))
    .sort()

/** The base's objects as kustomize would emit them: with the kustomization's namespace. */
export function baseObjects(): K8sObject[] {
  const kustomization = readYaml(join(K8S, 'base/kustomization.yaml')) as Kustomization
  return kustomization.resources.flatMap((file) =>
    readObjects(join(K8S, 'base', file)).map((object) =>
      object.kind === 'Namespace'
        ? object
        : {
            ...object,
            metadata: { ...object.metadata, namespace: kustomization.namespace ?? 'default' },
          }
    )
  )
}

export const kubectlAvailable =
  spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0

/** `kubectl kustomize <dir>`: what `kubectl apply -k` would send. */
export function render(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', join(K8S, dir)], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr}`)
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject)
}

interface Validatable {
  validate(): void
}
type ModelClass = new (data: never) => Validatable

/** The schema of each kind the manifests may use; any other kind is an error. */
const models: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'traefik.io/v1alpha1/IngressRoute': IngressRoute,
  'traefik.io/v1alpha1/Middleware': Middleware,
}

/** Throws with the schema's message when the object does not match its kind's schema. */
export function validate(object: K8sObject): void {
  const model = models[`${object.apiVersion}/${object.kind}`]
  if (model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`)
  new model(object as never).validate()
}

export const find = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name)

export const ofKind = (objects: K8sObject[], kind: string) =>
  objects.filter((object) => object.kind === kind)

/** Kubernetes quantities and compose's mem_limit in bytes: 512Mi, 1Gi, 512m, 1g. */
export function bytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|k|m|g)?b?$/i.exec(quantity)
  if (!match) throw new Error(`not a memory quantity: ${quantity}`)
  const unit = (match[2] ?? '').toLowerCase().replace('i', '')
  const power = { '': 0, k: 1, m: 2, g: 3 }[unit] ?? 0
  return Number(match[1]) * 1024 ** power
}

// biome-ignore lint/suspicious/noExplicitAny: container specs are read field by field
export type Container = any
export const podSpec = (workload: K8sObject | undefined) => workload?.spec?.template?.spec
export const containerOf = (workload: K8sObject | undefined): Container =>
  podSpec(workload)?.containers[0]
/** A container's environment: its env values and the ConfigMaps it reads whole. */
export function environment(objects: K8sObject[], container: Container): Record<string, string> {
  const fromConfigMaps = (container.envFrom ?? []).map(
    (source: { configMapRef: { name: string } }) =>
      find(objects, 'ConfigMap', source.configMapRef.name)?.data ?? {}
  )
  const direct = Object.fromEntries(
    (container.env ?? []).map((variable: { name: string; value?: string }) => [
      variable.name,
      variable.value ?? '<from a reference>',
    ])
  )
  return Object.assign({}, ...fromConfigMaps, direct)
}

/** The Secret key a container's variable reads, if it reads one. */
export const secretKeyOf = (container: Container, name: string) =>
  container.env?.find((variable: { name: string }) => variable.name === name)?.valueFrom
    ?.secretKeyRef
