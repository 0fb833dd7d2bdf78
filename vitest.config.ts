import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['auth/src/**/*.test.ts', 'mcp-services/src/**/*.test.ts', 'tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    reporters: ['default', './tests/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
