import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { bridgeSecretTemplate, read, secretTemplate } from './kubernetes-deployment.ts'
import {
  baseObjects,
  type Container,
  K8S,
  type Kustomization,
  ofKind,
  podSpec,
  readObjects,
  readYaml,
  validate,
  yamlFiles,
} from './kubernetes-manifests.ts'

describe('kubernetes/base', () => {
  const kustomization = readYaml(join(K8S, 'base/kustomization.yaml')) as Kustomization

  it('lists every manifest of the directory in its kustomization', () => {
    expect([...kustomization.resources].sort()).toEqual(
      yamlFiles(join(K8S, 'base')).filter((file) => file !== 'kustomization.yaml')
    )
  })

  it('lists every manifest of each component in its kustomization, each matching its schema', () => {
    for (const component of ['github']) {
      const dir = join(K8S, 'components', component)
      const listed = readYaml(join(dir, 'kustomization.yaml')) as Kustomization
      const files = [...listed.resources, ...(listed.patches ?? []).map((patch) => patch.path)]
      expect(files.sort()).toEqual(yamlFiles(dir).filter((file) => file !== 'kustomization.yaml'))
      for (const object of listed.resources.flatMap((file) => readObjects(join(dir, file))))
        validate(object)
    }
  })

  it('leaves the secrets to templates outside the kustomization, which match their schemas', () => {
    expect(ofKind(baseObjects(), 'Secret')).toEqual([])
    for (const object of [...secretTemplate, ...bridgeSecretTemplate]) validate(object)
    // The same header as traefik/dynamic/bridge-secret.yml, from the same secret.
    const composeHeaders = (parse(read('traefik/dynamic/bridge-secret.yml')) as Container).http
      .middlewares['bridge-secret'].headers.customRequestHeaders
    const header = bridgeSecretTemplate[0]?.spec.headers.customRequestHeaders
    expect(Object.keys(header)).toEqual(Object.keys(composeHeaders))
    expect(Object.values(header)).toEqual(['<BRIDGE_SHARED_SECRET>'])
    expect(Object.values(composeHeaders)).toEqual(['{{ env "BRIDGE_SHARED_SECRET" }}'])
    expect(bridgeSecretTemplate[0]?.metadata.namespace).toBe(kustomization.namespace)
    expect(secretTemplate[0]?.metadata.namespace).toBe(kustomization.namespace)
  })

  it('has docs/kubernetes.md create every secret the manifests require', () => {
    const required = baseObjects()
      .flatMap((object) => podSpec(object)?.containers ?? [])
      .flatMap((container: Container) => container.env ?? [])
      .map((variable: Container) => variable.valueFrom?.secretKeyRef)
      .filter((reference: Container) => reference && !reference.optional)
      .map((reference: Container) => reference.key)
    const created = [...read('docs/kubernetes.md').matchAll(/--from-literal=([A-Z0-9_]+)=/g)].map(
      (m) => m[1]
    )
    expect([...new Set(created)].sort()).toEqual([...new Set(required)].sort())
  })
})

describe('kubernetes/overlays/example', () => {
  it('builds on the base and patches only files it has', () => {
    const kustomization = readYaml(
      join(K8S, 'overlays/example/kustomization.yaml')
    ) as Kustomization
    expect(kustomization.resources).toEqual(['../../base'])
    // A component's objects get the overlay's namespace, not the base's.
    const base = readYaml(join(K8S, 'base/kustomization.yaml')) as Kustomization
    if (kustomization.components?.length) expect(kustomization.namespace).toBe(base.namespace)
    for (const patch of kustomization.patches ?? [])
      if (patch.path) expect(yamlFiles(join(K8S, 'overlays/example'))).toContain(patch.path)
  })
})
