import { benchBridge } from './bridge.ts'
import { benchIdleSessions } from './idle-sessions.ts'
import { benchVerify } from './verify.ts'

/** `npm run bench`: every benchmark, one after the other (figures go to docs/benchmarks.md). */
await benchVerify()
await benchBridge()
await benchIdleSessions()
