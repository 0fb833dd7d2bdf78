/**
 * How many requests of each user the bridge is handling at once, within a bound: `take` before
 * handling one (false at the bound: refuse it), `give` once its answer has started. A request may
 * hold a body of up to `MAX_REQUEST_BODY_BYTES` while it arrives, so this bounds what one account
 * can make the bridge hold in memory, whatever the pace at which it sends.
 */
export class RequestsInHand {
  readonly #counts = new Map<string, number>()
  readonly #bound: number

  constructor(bound: number) {
    this.#bound = bound
  }

  take(userId: string): boolean {
    const count = this.#counts.get(userId) ?? 0
    if (count >= this.#bound) return false
    this.#counts.set(userId, count + 1)
    return true
  }

  give(userId: string): void {
    const count = (this.#counts.get(userId) ?? 1) - 1
    // An entry per user only while they have a request in hand: the map does not grow with users.
    if (count > 0) this.#counts.set(userId, count)
    else this.#counts.delete(userId)
  }
}
