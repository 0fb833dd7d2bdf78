import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../auth/src/config.ts'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import { parseDockerfile } from './dockerfile.ts'
import { ROOT } from './image-replay.ts'
import {
  baseObjects,
  bytes,
  find,
  K8S,
  type K8sObject,
  type Kustomization,
  kubectlAvailable,
  ofKind,
  readObjects,
  readYaml,
  render,
  validate,
  yamlFiles,
} from './kubernetes-manifests.ts'

/**
 * kubernetes/ tells the same story as docker-compose.yml, traefik/ and the code: every object
 * matches its Kubernetes or Traefik CRD schema, and every name, port, header, variable and secret
 * is one the project really has. No cluster runs here; the lists come from the project's files.
 */
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const envExample = read('.env.example')
const inEnvExample = (name: string) => new RegExp(`^#? ?${name}=`, 'm').test(envExample)

interface Router {
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
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>
}
const traefikRouters = {
  ...(parse(read('traefik/dynamic/auth.yml')) as { http: { routers: Record<string, Router> } }).http
    .routers,
  ...(parse(read('traefik/dynamic/services.yml')) as { http: { routers: Record<string, Router> } })
    .http.routers,
}
const traefikMiddlewares = (
  parse(read('traefik/dynamic/middlewares.yml')) as {
    http: { middlewares: Record<string, Record<string, unknown>> }
  }
).http.middlewares
const bridgeSecretTemplate = readObjects(join(K8S, 'bridge-secret.example.yaml'))
const secretTemplate = readObjects(join(K8S, 'secret.example.yaml'))

/** The image each Dockerfile builds, as compose names it. */
const imageOf = (dockerfile: string) =>
  Object.values(compose.services).find((service) => service.build?.dockerfile === dockerfile)?.image
const dockerfileEnv = (path: string) => parseDockerfile(read(path)).env

// biome-ignore lint/suspicious/noExplicitAny: container specs are read field by field
type Container = any
const podSpec = (workload: K8sObject | undefined) => workload?.spec?.template?.spec
const containerOf = (workload: K8sObject | undefined): Container => podSpec(workload)?.containers[0]
/** A container's environment: its env values and the ConfigMaps it reads whole. */
function environment(objects: K8sObject[], container: Container): Record<string, string> {
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

/**
 * The Prometheus pods the NetworkPolicies let scrape /metrics (docs/metrics.md, "On Kubernetes"):
 * one peer, so both must match.
 */
const PROMETHEUS = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
}
/** The Secret key a container's variable reads, if it reads one. */
const secretKeyOf = (container: Container, name: string) =>
  container.env?.find((variable: { name: string }) => variable.name === name)?.valueFrom
    ?.secretKeyRef

/** The rules of traefik/dynamic with BASE_DOMAIN filled in, as a CRD route's match reads. */
const composeRule = (router: string, domain: string) =>
  traefikRouters[router]?.rule.replace('{{ env "BASE_DOMAIN" }}', domain)

function checkDeployment(objects: K8sObject[]) {
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

  it('puts every object in the gateway namespace', () => {
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(namespace)
    }
  })

  it('has every object match its Kubernetes or Traefik CRD schema', () => {
    for (const object of objects) {
      expect(() => validate(object), `${object.kind} ${object.metadata.name}`).not.toThrow()
    }
  })

  it('runs N auth replicas as compose runs auth, with the image auth/Dockerfile builds', () => {
    expect(auth?.spec.replicas).toBeGreaterThanOrEqual(2)
    expect(containerOf(auth).image).toMatch(
      new RegExp(`(^|/)${imageOf('auth/Dockerfile')}(:[\\w.-]+)?$`)
    )
    const composeAuth = compose.services.auth?.environment ?? {}
    for (const name of ['NODE_ENV', 'GATEWAY_MODE', 'HOST', 'PORT', 'INTERNAL_PORT'])
      expect(authEnv[name], name).toBe(composeAuth[name])
    // Compose names Traefik's network; here the NetworkPolicy lets only Traefik reach the port.
    expect(authEnv.TRUST_PROXY).toBe('true')
    expect(authEnv.PORT).toBe(dockerfileEnv('auth/Dockerfile').PORT)
    expect(domain).toMatch(/^[a-z0-9.-]+\.[a-z]+$/)
    // The Service's ports are the container's: public PORT and INTERNAL_PORT.
    expect(String(servicePort(authService, 'http'))).toBe(authEnv.PORT)
    expect(String(servicePort(authService, 'internal'))).toBe(authEnv.INTERNAL_PORT)
    expect(authService?.spec.type ?? 'ClusterIP').toBe('ClusterIP')
  })

  it('keeps a PodDisruptionBudget under auth and every bridge', () => {
    for (const workload of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]) {
      if (workload.metadata.name === 'redis') continue
      const budgets = ofKind(objects, 'PodDisruptionBudget').filter((budget) =>
        Object.entries(budget.spec.selector.matchLabels).every(
          ([key, value]) => workload.spec.template.metadata.labels[key] === value
        )
      )
      expect(budgets, workload.metadata.name).toHaveLength(1)
      const minAvailable = budgets[0]?.spec.minAvailable ?? 0
      expect(workload.spec.replicas, workload.metadata.name).toBeGreaterThan(minAvailable)
    }
  })

  it('probes /health (liveness) and /ready (readiness) on the port the process listens on', () => {
    for (const workload of [
      auth,
      ...enabledServices.map((s) => find(objects, 'StatefulSet', `mcp-${s.name}`)),
    ]) {
      const container = containerOf(workload)
      const port = (name: string) =>
        container.ports.find((p: { name: string }) => p.name === name)?.containerPort
      expect(container.livenessProbe.httpGet.path).toBe('/health')
      expect(container.readinessProbe.httpGet.path).toBe('/ready')
      expect(String(port(container.readinessProbe.httpGet.port))).toBe(
        environment(objects, container).PORT
      )
    }
  })

  it('lets auth wait minutes for Redis at start before the kubelet restarts it', () => {
    // auth/src/keys/signing-keys-at-start.ts: it listens only once Redis gave it the keys.
    const container = containerOf(auth)
    const startup = container.startupProbe
    expect(startup.httpGet).toEqual(container.livenessProbe.httpGet)
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(180)
    // Liveness starts once the start-up probe passed: a delay of its own would only postpone it.
    expect(container.livenessProbe.initialDelaySeconds).toBeUndefined()
  })

  it('stops a replica without errors (docs/operations.md, "Stopping and several replicas")', () => {
    // The code's defaults, as the gateway reads an environment that sets neither.
    const defaults = loadConfig({}).shutdown
    const setting = (name: string) =>
      (name === 'SHUTDOWN_DELAY' ? defaults.delayMs : defaults.timeoutMs) / 1000
    expect(setting('SHUTDOWN_DELAY')).toBeGreaterThan(0)
    for (const workload of [
      auth,
      ...enabledServices.map((s) => find(objects, 'StatefulSet', `mcp-${s.name}`)),
    ]) {
      // The container's own values where it sets them, else the code's defaults.
      const env = environment(objects, containerOf(workload))
      const value = (name: string) => Number(env[name] ?? setting(name))
      const [delay, timeout] = [value('SHUTDOWN_DELAY'), value('SHUTDOWN_TIMEOUT')]
      const probe = containerOf(workload).readinessProbe
      // Traefik hears of the 503 within SHUTDOWN_DELAY, and the kubelet waits for the rest.
      expect(probe.periodSeconds * probe.failureThreshold).toBeLessThan(delay)
      expect(podSpec(workload).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
        delay + timeout + 5
      )
    }
  })

  it('limits memory as compose does and runs every container unprivileged', () => {
    for (const workload of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]) {
      const name = workload.metadata.name
      const container = containerOf(workload)
      expect(bytes(container.resources.limits.memory), name).toBe(
        bytes(compose.services[name]?.mem_limit ?? '0')
      )
      expect(container.securityContext, name).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      })
      // A bridge is root with the two capabilities that start its children as another user, as
      // compose runs it; everything else runs as a user that is not root, with none.
      const childUser = environment(objects, container).CHILD_USER
      if (childUser === undefined) {
        expect(podSpec(workload).securityContext.runAsNonRoot, name).toBe(true)
        expect(container.securityContext.capabilities.add, name).toBeUndefined()
      } else {
        expect(childUser, name).toBe(compose.services[name]?.environment?.CHILD_USER)
        expect(container.securityContext.capabilities.add, name).toEqual(
          compose.services[name]?.cap_add
        )
      }
    }
  })

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

  it('runs Redis as compose does: AOF, maxmemory, noeviction, a password', () => {
    const redis = containerOf(find(objects, 'StatefulSet', 'redis'))
    const composeCommand = (compose.services.redis?.command ?? [])
      .slice(1)
      .map((arg) => arg.replace(/^\$\{REDIS_PASSWORD:\?.*\}$/, '$(REDIS_PASSWORD)'))
    expect(redis.args).toEqual(composeCommand)
    expect(redis.image).toBe(compose.services.redis?.image)
    expect(find(objects, 'StatefulSet', 'redis')?.spec.volumeClaimTemplates).toHaveLength(1)
  })

  it('forward-authenticates at the auth Service’s /verify as traefik/ does', () => {
    const middleware = find(objects, 'Middleware', 'mcp-auth')?.spec.forwardAuth
    const address = new URL(middleware.address)
    expect(address.hostname).toBe(`auth.${namespace}.svc.cluster.local`)
    expect(address.port).toBe(String(servicePort(authService, 'http')))
    expect(address.pathname).toBe('/verify')
    expect(middleware).toEqual({
      ...(traefikMiddlewares['mcp-auth']?.forwardAuth as object),
      address: middleware.address,
    })
    for (const name of ['strip-authorization', 'security-headers'])
      expect(find(objects, 'Middleware', name)?.spec, name).toEqual(traefikMiddlewares[name])
  })

  it('routes the auth host and /.well-known/ as traefik/dynamic/auth.yml does', () => {
    const routes = find(objects, 'IngressRoute', 'auth')?.spec.routes
    expect(routes.map((route: { match: string }) => route.match)).toEqual(
      ['auth', 'well-known'].map((router) => composeRule(router, domain))
    )
    for (const route of routes)
      expect(route.services).toEqual([{ name: 'auth', port: servicePort(authService, 'http') }])
    expect(routes.map((route: Router) => route.priority)).toEqual(
      ['auth', 'well-known'].map((router) => traefikRouters[router]?.priority)
    )
  })

  it('names only Middlewares and Services that exist (bridge-secret: from its template)', () => {
    const middlewares = [...ofKind(objects, 'Middleware'), ...bridgeSecretTemplate]
    for (const ingress of ofKind(objects, 'IngressRoute')) {
      for (const route of ingress.spec.routes) {
        for (const { name } of route.middlewares ?? [])
          expect(find(middlewares, 'Middleware', name), name).toBeDefined()
        for (const { name, port } of route.services) {
          const ports = find(objects, 'Service', name)?.spec.ports.map((p: Container) => p.port)
          expect(ports, `${ingress.metadata.name} → ${name}`).toContain(port)
        }
      }
    }
  })

  for (const service of enabledServices) {
    const name = `mcp-${service.name}`
    it(`runs ${name} (enabled) as a StatefulSet whose peers are its pods`, () => {
      const set = find(objects, 'StatefulSet', name)
      const headless = find(objects, 'Service', name)
      const env = environment(objects, containerOf(set))
      expect(containerOf(set).args).toEqual(compose.services[name]?.command)
      expect(containerOf(set).image).toMatch(
        new RegExp(`(^|/)${imageOf('mcp-services/Dockerfile')}(:[\\w.-]+)?$`)
      )
      expect(env.PORT).toBe(dockerfileEnv('mcp-services/Dockerfile').PORT)
      expect(env.ALLOWED_HOSTS).toBe(`${service.name}.${domain}`)
      expect(headless?.spec.clusterIP).toBe('None')
      expect(set?.spec.serviceName).toBe(name)
      const peers = Array.from(
        { length: set?.spec.replicas },
        (_, i) => `${name}-${i}=http://${name}-${i}.${name}:${env.PORT}`
      )
      expect(env.BRIDGE_PEERS?.split(',')).toEqual(peers)
      const replicaId = containerOf(set).env.find((v: Container) => v.name === 'BRIDGE_REPLICA_ID')
      expect(replicaId?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
      if (service.perUserDirectories.length > 0) {
        const data = podSpec(set).volumes.find((v: Container) => v.name === 'data')
        expect(data?.persistentVolumeClaim, 'one shared volume for every replica').toBeDefined()
      }
    })

    it(`routes ${service.name}.<domain> as traefik/dynamic/services.yml does`, () => {
      const routes = find(objects, 'IngressRoute', name)?.spec.routes
      const routers = [name, `${name}-health`, `${name}-oauth-fallbacks`]
      expect(routes.map((route: { match: string }) => route.match)).toEqual(
        routers.map((router) => composeRule(router, domain))
      )
      routers.forEach((router, i) => {
        const route = routes[i]
        expect(route.priority).toBe(traefikRouters[router]?.priority)
        expect(route.middlewares.map((m: { name: string }) => m.name)).toEqual(
          traefikRouters[router]?.middlewares
        )
        const backend = i === 2 ? authService : find(objects, 'Service', name)
        expect(route.services[0].name).toBe(backend?.metadata.name)
        expect(route.services[0].port).toBe(backend?.spec.ports[0].port)
      })
    })

    it(`lets only Traefik and its own replicas reach ${name}, which reaches only what its egress allows`, () => {
      const policy = find(objects, 'NetworkPolicy', name)?.spec
      const self = { podSelector: { matchLabels: { 'app.kubernetes.io/name': name } } }
      expect(policy.ingress[0].from).toContainEqual(self)
      expect(policy.ingress[0].from).toHaveLength(2)
      // …and Prometheus, on the metrics port alone.
      const metricsPort = Number(
        environment(objects, containerOf(find(objects, 'StatefulSet', name))).METRICS_PORT
      )
      expect(policy.ingress).toEqual([
        policy.ingress[0],
        { from: [PROMETHEUS], ports: [{ protocol: 'TCP', port: metricsPort }] },
      ])
      if (service.egress === 'none')
        expect(policy.egress).toEqual([{ to: [self], ports: policy.ingress[0].ports }])
    })

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

    if (service.actAsGitHubUser) {
      it(`lets ${name} read users and tokens from auth's internal port, and nothing else does`, () => {
        const set = find(objects, 'StatefulSet', name)
        const env = environment(objects, containerOf(set))
        const internal = servicePort(authService, 'internal')
        expect(env.AUTH_INTERNAL_URL).toBe(`http://${authService?.metadata.name}:${internal}`)
        const admitted = find(objects, 'NetworkPolicy', 'auth')?.spec.ingress.find(
          (rule: Container) => rule.ports[0].port === internal
        ).from[0].podSelector.matchLabels
        expect(set?.spec.template.metadata.labels).toMatchObject(admitted)
        const labelled = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]
          .filter((workload) =>
            Object.entries(admitted).every(
              ([k, v]) => workload.spec.template.metadata.labels[k] === v
            )
          )
          .map((workload) => workload.metadata.name)
        expect(labelled.sort()).toEqual(
          enabledServices
            .filter((s) => s.actAsGitHubUser)
            .map((s) => `mcp-${s.name}`)
            .sort()
        )
        expect(find(objects, 'NetworkPolicy', name)?.spec.egress).toContainEqual({
          to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'auth' } } }],
          ports: [{ protocol: 'TCP', port: internal }],
        })
      })
    }
  }

  it('runs a bridge for exactly the services the authorization server protects', () => {
    expect(enabledServices.length).toBeGreaterThan(0)
    const bridges = ofKind(objects, 'StatefulSet')
      .map((set) => set.metadata.name)
      .filter((name) => name !== 'redis')
    expect(bridges.sort()).toEqual(enabledServices.map((service) => `mcp-${service.name}`).sort())
  })

  it('denies by default and lets only auth reach Redis, only Traefik reach auth', () => {
    expect(find(objects, 'NetworkPolicy', 'default-deny')?.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    })
    expect(find(objects, 'NetworkPolicy', 'redis')?.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'auth' } } }],
        ports: [{ protocol: 'TCP', port: 6379 }],
      },
    ])
    const authIngress = find(objects, 'NetworkPolicy', 'auth')?.spec.ingress
    expect(authIngress.map((rule: Container) => rule.ports[0].port)).toEqual([
      servicePort(authService, 'http'),
      servicePort(authService, 'internal'),
      servicePort(authService, 'internal'),
    ])
    expect(authIngress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } } },
    ])
    // Prometheus, for /metrics on the internal port (its token opens nothing else there).
    expect(authIngress[2]).toEqual({
      from: [PROMETHEUS],
      ports: [{ protocol: 'TCP', port: servicePort(authService, 'internal') }],
    })
  })

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
}

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

  describe('as written', () => checkDeployment(baseObjects()))
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

  describe.skipIf(!kubectlAvailable)('as kubectl kustomize renders it', () =>
    checkDeployment(kubectlAvailable ? render('overlays/example') : [])
  )
})
