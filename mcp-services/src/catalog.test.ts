import { describe, expect, it } from 'vitest'
import { NO_DOMAIN, serviceCatalog } from './catalog.ts'

describe('the service catalog', () => {
  it('states the network reach of every service', () => {
    for (const service of serviceCatalog) {
      const { egress } = service
      if (egress === 'none') continue
      expect(egress.length, service.name).toBeGreaterThan(0)
      for (const host of egress)
        expect(new URL(`https://${host}/`).hostname, service.name).toBe(host)
    }
  })

  it('gives the everything server’s fetching tool exactly the stated reach', () => {
    const everything = serviceCatalog.filter(
      (service) =>
        service.launch.kind === 'package-bin' &&
        service.launch.package === '@modelcontextprotocol/server-everything'
    )
    expect(everything.length).toBeGreaterThan(0)
    for (const service of everything) {
      // The server reads an empty or missing list as "every domain".
      const expected = service.egress === 'none' ? NO_DOMAIN : service.egress.join(',')
      expect(service.env.GZIP_ALLOWED_DOMAINS, service.name).toBe(expected)
    }
  })

  it('trusts only our own servers with a user’s GitHub token, and lets them reach GitHub', () => {
    const actingAsUser = serviceCatalog.filter((service) => service.actAsGitHubUser)
    expect(actingAsUser.map((service) => service.name)).toEqual(['github'])
    for (const service of actingAsUser) {
      expect(service.launch.kind, service.name).toBe('module')
      expect(service.enabledByDefault, service.name).toBe(false)
      expect(service.egress, service.name).toContain('api.github.com')
    }
  })

  it('uses an allow-list entry that no URL’s host can match', () => {
    expect(() => new URL(`http://${NO_DOMAIN}/`)).toThrow()
    expect(() => new URL(`http://a.${NO_DOMAIN}/`)).toThrow()
    expect(NO_DOMAIN.trim()).not.toBe('')
    expect(NO_DOMAIN).not.toContain(',')
  })
})
