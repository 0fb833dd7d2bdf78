import { randomFillSync } from 'node:crypto'

/**
 * Random bytes for the token endpoint's secrets, drawn from a buffer filled 4 KiB at a time
 * (as Node draws `randomUUID`s): one call into the CSPRNG per hundred-odd secrets instead of one
 * per secret, which costs several microseconds each on the token endpoint's path. Every byte is
 * handed out once, copied, and the pool's copy overwritten.
 */
const POOL_BYTES = 4096
const pool = Buffer.alloc(POOL_BYTES)
let offset = POOL_BYTES

export function randomBytesFromPool(size: number): Buffer {
  if (size > POOL_BYTES) return randomFillSync(Buffer.alloc(size))
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size))
  pool.fill(0, offset, offset + size)
  offset += size
  return bytes
}
