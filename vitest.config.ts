import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['auth/src/**/*.test.ts', 'mcp-services/src/**/*.test.ts', 'tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    reporters: ['default', './tests/support/summary-reporter.ts'],
    // Most suites wait on processes they start (Redis, proxies, the gateway, MCP servers), so two
    // files at a time keep a 2-core machine busy; the default (one less than the cores) is one.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
