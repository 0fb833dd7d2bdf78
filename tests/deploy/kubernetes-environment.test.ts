import { expect, it } from 'vitest'
import {
  checkEachDeployment,
  compose,
  inEnvExample,
  PROMETHEUS,
  read,
  secretTemplate,
} from './kubernetes-deployment.ts'
import {
  type Container,
  containerOf,
  environment,
  find,
  ofKind,
  podSpec,
  secretKeyOf,
} from './kubernetes-manifests.ts'

/** The workloads' variables and secrets, the metrics token among them. */
checkEachDeployment((deployment) => {
  const { objects, auth, authEnv, enabledServices } = deployment

  it('sets only variables .env.example documents, and provides every secret compose requires', () => {
    for (const workload of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]) {
      for (const name of Object.keys(environment(objects, containerOf(workload))))
        expect(inEnvExample(name), `${workload.metadata.name}: ${name}`).toBe(true)
    }
    // Every ${VAR:?…} compose insists on for auth, Redis or a bridge (Traefik's are its own).
    const required = (service: string) =>
      [...JSON.stringify(compose.services[service]).matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1])
    const redisEnv = environment(objects, containerOf(find(objects, 'StatefulSet', 'redis')))
    for (const name of required('auth')) expect(authEnv, name).toHaveProperty(name as string)
    for (const name of required('redis')) expect(redisEnv, name).toHaveProperty(name as string)
    for (const service of enabledServices) {
      const bridge = environment(
        objects,
        containerOf(find(objects, 'StatefulSet', `mcp-${service.name}`))
      )
      for (const name of required(`mcp-${service.name}`))
        expect(bridge, name).toHaveProperty(name as string)
    }
    // …from the Secret the template documents: every required key as an entry, an optional one
    // as an entry or a commented-out line, and nothing the manifests do not read.
    const secretKeys = Object.keys(secretTemplate[0]?.stringData ?? {})
    const commentedKeys = [
      ...read('kubernetes/secret.example.yaml').matchAll(/^\s*#\s*([A-Z0-9_]+):/gm),
    ].map((m) => m[1])
    const references = objects
      .flatMap((object) => podSpec(object)?.containers ?? [])
      .flatMap((container: Container) => container.env ?? [])
      .map((variable: Container) => variable.valueFrom?.secretKeyRef)
      .filter(Boolean)
    expect(references.length).toBeGreaterThan(0)
    for (const reference of references) {
      expect(reference.name).toBe(secretTemplate[0]?.metadata.name)
      const documented = reference.optional ? [...secretKeys, ...commentedKeys] : secretKeys
      expect(documented, reference.key).toContain(reference.key)
    }
    const referenced = new Set(references.map((reference: Container) => reference.key))
    expect(
      secretKeys.filter((key) => !referenced.has(key)),
      'keys nothing reads'
    ).toEqual([])
  })

  for (const service of enabledServices) {
    const name = `mcp-${service.name}`
    it(`serves ${name}'s metrics on a named port, with the token from the Secret`, () => {
      const set = find(objects, 'StatefulSet', name)
      const env = environment(objects, containerOf(set))
      const port = containerOf(set).ports.find((p: { name: string }) => p.name === 'metrics')
      expect(String(port?.containerPort)).toBe(env.METRICS_PORT)
      expect(env.METRICS_PORT).not.toBe(env.PORT)
      const service = find(objects, 'Service', name)?.spec.ports
      expect(service).toContainEqual({
        name: 'metrics',
        port: Number(env.METRICS_PORT),
        targetPort: 'metrics',
      })
      // Required: a bridge given METRICS_PORT without METRICS_TOKEN refuses to start.
      expect(secretKeyOf(containerOf(set), 'METRICS_TOKEN')).toEqual({
        name: 'gateway-secrets',
        key: 'METRICS_TOKEN',
      })
    })

    it(`gives ${name} every variable compose gives it`, () => {
      const env = environment(objects, containerOf(find(objects, 'StatefulSet', name)))
      for (const variable of Object.keys(compose.services[name]?.environment ?? {}))
        expect(env, variable).toHaveProperty(variable)
    })
  }

  it('gives auth the metrics token from the Secret, and documents who may scrape', () => {
    expect(secretKeyOf(containerOf(auth), 'METRICS_TOKEN')).toMatchObject({
      name: 'gateway-secrets',
      key: 'METRICS_TOKEN',
    })
    for (const doc of ['docs/kubernetes.md', 'docs/metrics.md']) {
      const text = read(doc).replace(/\s+/g, ' ')
      expect(text, doc).toContain(
        `\`app.kubernetes.io/name: ${PROMETHEUS.podSelector.matchLabels['app.kubernetes.io/name']}\``
      )
      expect(text, doc).toContain(
        `namespace \`${PROMETHEUS.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}\``
      )
    }
  })
})
