/**
 * Whether this process wants new traffic. `/ready` answers 503 with the reason once it does not,
 * so a proxy stops sending before the listener closes (graceful shutdown, docs/operations.md).
 */
export interface Readiness {
  /** Why the process is not ready; undefined while it is. */
  readonly notReadyReason: string | undefined
  /** From now on `/ready` answers 503 with `reason`. */
  stop(reason: string): void
}

export function createReadiness(): Readiness {
  let reason: string | undefined
  return {
    get notReadyReason() {
      return reason
    },
    stop(why) {
      reason ??= why
    },
  }
}
