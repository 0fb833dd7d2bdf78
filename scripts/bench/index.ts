import { benchBridge } from './bridge.ts'
import { benchIdleSessions } from './idle-sessions.ts'
import { benchSigning } from './signing.ts'
import { benchVerify } from './verify.ts'

/** `npm run bench`: every benchmark, one after the other (figures go to docs/benchmarks.md). */
await benchSigning()
await benchVerify()
await benchBridge()
await benchIdleSessions()
