import { describe } from 'vitest'
import { forwardAuthContract } from './support/forward-auth-contract.ts'
import { containerRuntime, startTraefik } from './support/traefik.ts'

const runtime = await containerRuntime()
if (!runtime.available) {
  console.info(`Traefik forward-auth suite skipped: no container runtime (${runtime.reason})`)
}
const skipped = runtime.available ? '' : ` [skipped: no container runtime: ${runtime.reason}]`

describe.skipIf(!runtime.available)(`behind Traefik forwardAuth (container)${skipped}`, () => {
  forwardAuthContract(startTraefik, { challengeOn403: true })
})
