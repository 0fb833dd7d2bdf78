import { expect, it } from 'vitest'
import { loadConfig } from '../../auth/src/config.ts'
import { checkEachDeployment, compose, dockerfileEnv, imageOf } from './kubernetes-deployment.ts'
import {
  bytes,
  type Container,
  containerOf,
  environment,
  find,
  ofKind,
  podSpec,
  validate,
} from './kubernetes-manifests.ts'

/** The workloads: auth, Redis and a bridge per enabled service, as compose runs them. */
checkEachDeployment((deployment) => {
  const { objects, auth, authService, authEnv, domain, enabledServices, namespace, servicePort } =
    deployment

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

  it('probes /health (liveness) and readiness on the port the process listens on', () => {
    for (const workload of [
      auth,
      ...enabledServices.map((s) => find(objects, 'StatefulSet', `mcp-${s.name}`)),
    ]) {
      const container = containerOf(workload)
      const port = (name: string) =>
        container.ports.find((p: { name: string }) => p.name === name)?.containerPort
      expect(container.livenessProbe.httpGet.path).toBe('/health')
      // auth's `/ready` also asks Redis, which every replica shares: a Redis outage would empty
      // the Service, and Traefik would answer for the replicas (500 at forward-auth).
      expect(container.readinessProbe.httpGet.path).toBe(workload === auth ? '/health' : '/ready')
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
      // Traefik hears of the stop within SHUTDOWN_DELAY (a bridge's `/ready` 503; auth's pod
      // leaving the Service as it is deleted), and the kubelet waits for the rest.
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

  it('runs Redis as compose does: AOF, maxmemory, noeviction, a password', () => {
    const redis = containerOf(find(objects, 'StatefulSet', 'redis'))
    const composeCommand = (compose.services.redis?.command ?? [])
      .slice(1)
      .map((arg) => arg.replace(/^\$\{REDIS_PASSWORD:\?.*\}$/, '$(REDIS_PASSWORD)'))
    expect(redis.args).toEqual(composeCommand)
    expect(redis.image).toBe(compose.services.redis?.image)
    expect(find(objects, 'StatefulSet', 'redis')?.spec.volumeClaimTemplates).toHaveLength(1)
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
  }

  it('runs a bridge for exactly the services the authorization server protects', () => {
    expect(enabledServices.length).toBeGreaterThan(0)
    const bridges = ofKind(objects, 'StatefulSet')
      .map((set) => set.metadata.name)
      .filter((name) => name !== 'redis')
    expect(bridges.sort()).toEqual(enabledServices.map((service) => `mcp-${service.name}`).sort())
  })
})
