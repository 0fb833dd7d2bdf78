import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fixtureService, startTestBridge } from '../../mcp-services/src/testing/harness.ts'
import { createTestAuthServer } from '../support/auth-app.ts'
import { metricNames } from '../support/prometheus-text.ts'

const SECRET = 'internal-secret-of-the-test-deployment-0123456789'

interface Panel {
  readonly title: string
  readonly datasource: { readonly uid: string }
  readonly targets: readonly { readonly expr: string }[]
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../ops/grafana/gateway-dashboard.json', import.meta.url), 'utf8')
) as {
  readonly panels: readonly Panel[]
  readonly templating: { readonly list: readonly { readonly name: string; type: string }[] }
}

/** The metric families a query reads (a histogram's series named by their family). */
function queried(expr: string): string[] {
  return [...expr.matchAll(/(?<![$\w])((?:auth|bridge)_[a-z_]+)/g)].map((m) =>
    (m[1] as string).replace(/_(bucket|count|sum)$/, '')
  )
}

describe('the Grafana dashboard (ops/grafana/gateway-dashboard.json)', () => {
  it('takes its Prometheus data source as a variable, in every panel', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' })
    )
    const variable = `$${'{datasource}'}`
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe(variable)
  })

  it('queries only metrics the auth server and the bridge expose', async () => {
    const server = await createTestAuthServer({ INTERNAL_API_SECRET: SECRET })
    const bridge = await startTestBridge(fixtureService)
    try {
      const response = await (server.internalApp as NonNullable<typeof server.internalApp>).request(
        'http://auth:8001/metrics',
        { headers: { Authorization: `Bearer ${SECRET}` } }
      )
      const exposed = new Set([
        ...metricNames(await response.text()),
        ...metricNames(await bridge.bridge.metrics.registry.metrics()),
      ])
      const used = dashboard.panels.flatMap((panel) =>
        panel.targets.flatMap((target) => queried(target.expr))
      )
      expect(used.length).toBeGreaterThan(15)
      expect(used.filter((name) => !exposed.has(name))).toEqual([])
      // And every metric of ours is on some panel.
      const ours = [...exposed].filter((name) => /^(auth|bridge)_/.test(name))
      expect(
        ours.filter((name) => !used.includes(name) && name !== 'auth_audit_events_total')
      ).toEqual([])
    } finally {
      await bridge.close()
      await server.close()
    }
  })
})
