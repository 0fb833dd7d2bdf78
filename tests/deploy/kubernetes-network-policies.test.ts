import { expect, it } from 'vitest'
import { checkEachDeployment, PROMETHEUS } from './kubernetes-deployment.ts'
import { type Container, containerOf, environment, find, ofKind } from './kubernetes-manifests.ts'

/** The NetworkPolicies: who may reach auth, Redis and each bridge, and what a bridge reaches. */
checkEachDeployment((deployment) => {
  const { objects, authService, enabledServices, servicePort } = deployment

  for (const service of enabledServices) {
    const name = `mcp-${service.name}`
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
})
