/** The time source domain code reads, so tests can move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** Whole seconds since the epoch, the unit of JWT and OAuth timestamps. */
export const epochSeconds = (clock: Clock): number => Math.floor(clock.now() / 1000)
