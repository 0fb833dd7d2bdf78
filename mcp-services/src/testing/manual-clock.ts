/**
 * A clock the test moves by hand, given to the bridge as `BridgeDeps.now`, so idle timeouts are
 * reached when the test says, not when a busy machine gets round to it. Counts its readings: with
 * no request in flight only the reaper reads it, once per sweep, so a test can wait for a sweep.
 */
export class ManualClock {
  #time: number
  #reads = 0

  constructor(start = Date.now()) {
    this.#time = start
  }

  readonly now = (): number => {
    this.#reads += 1
    return this.#time
  }

  advance(milliseconds: number): void {
    this.#time += milliseconds
  }

  /** How often the clock has been read so far. */
  get reads(): number {
    return this.#reads
  }
}
