import { parseArgs } from 'node:util'
import { runSoak } from './soak.ts'

/**
 * `npm run soak`: the gateway at a fixed request rate for a set time (docs/operations.md).
 * `npm run soak -- --rate 1000 --duration 20m --interval 60s --families 20`; durations take
 * `s`, `m` or `h` (bare numbers are seconds). Exits 1 when any request was answered unexpectedly.
 */
const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '20m' },
    interval: { type: 'string', default: '60s' },
    families: { type: 'string', default: '20' },
  },
})

function seconds(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim())
  if (!match) {
    process.stderr.write(`--${name}: a duration such as 90, 90s, 20m or 1h, not "${text}"\n`)
    process.exit(2)
  }
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1
  return Number(match[1]) * unit
}

const rate = Number(values.rate)
const families = Number(values.families)
if (!Number.isInteger(rate) || rate < 1 || !Number.isInteger(families) || families < 1) {
  process.stderr.write('--rate and --families take whole numbers of at least 1\n')
  process.exit(2)
}
const summary = await runSoak({
  rate,
  durationSeconds: seconds(values.duration, 'duration'),
  intervalSeconds: seconds(values.interval, 'interval'),
  families,
  print: (line) => process.stdout.write(`${line}\n`),
})
process.exit(summary.errors > 0 ? 1 : 0)
