import { parseArgs } from 'node:util'
import { benchBridge } from './bridge.ts'
import { benchIdleSessions } from './idle-sessions.ts'
import { benchNginx } from './nginx.ts'
import { benchReplicas } from './replicas.ts'
import { benchSigning } from './signing.ts'
import { benchStoreSize } from './store-size.ts'
import { benchToken } from './token.ts'
import { benchVerify } from './verify.ts'

/**
 * `npm run bench`: every benchmark, one after the other (figures go to docs/benchmarks.md).
 * `npm run bench -- --only nginx,verify` runs the named sections only;
 * `--store-sizes 1000,100000,1000000` sets the store sizes of `store-size` (1e6 takes minutes).
 */
const { values } = parseArgs({
  options: { only: { type: 'string' }, 'store-sizes': { type: 'string' } },
})
const sections: Record<string, () => Promise<unknown>> = {
  signing: () => benchSigning(),
  verify: () => benchVerify(),
  token: () => benchToken(),
  bridge: () => benchBridge(),
  'idle-sessions': () => benchIdleSessions(),
  nginx: () => benchNginx(),
  'store-size': () =>
    benchStoreSize(
      values['store-sizes'] ? values['store-sizes'].split(',').map(Number) : undefined
    ),
  replicas: () => benchReplicas(),
}

const chosen = values.only
  ? values.only.split(',').map((name) => name.trim())
  : Object.keys(sections)
const unknown = chosen.filter((name) => !(name in sections))
if (unknown.length > 0) {
  process.stderr.write(
    `unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}\n`
  )
  process.exit(2)
}
for (const name of chosen) await sections[name]?.()
