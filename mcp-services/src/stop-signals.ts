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

/**
 * Waits for `work` at most `ms`: true when it settled in time (fulfilled or not). A shutdown's
 * last steps talk to peers that may be down; the exit must still come within the grace period
 * the orchestrator gives before it kills.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
}
