/**
 * Runs `stop` on the first SIGTERM or SIGINT. A second signal, of either kind, means the operator
 * will not wait for the drain: the process exits at once, with the shell's code for that signal
 * (128 + its number), as if it had not been caught.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: stopping at once\n`)
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
    }
    stopping = true
    stop(signal)
  }
  process.on('SIGTERM', handle)
  process.on('SIGINT', handle)
}
