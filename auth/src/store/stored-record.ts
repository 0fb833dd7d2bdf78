import { DamagedRecord } from './store.ts'

/**
 * A record the gateway stored as JSON, read back: the object, or null when there is none. Only the
 * JSON is checked, not every field (that would cost each hot path a schema walk); what fails here
 * was not written by the gateway, and becomes `DamagedRecord` instead of a `SyntaxError` with a
 * stack, or a `TypeError` further on.
 */
export function parseRecord<T>(raw: string, key: string): T
export function parseRecord<T>(raw: string | null | undefined, key: string): T | null
export function parseRecord<T>(raw: string | null | undefined, key: string): T | null {
  if (raw === null || raw === undefined) return null
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new DamagedRecord(key, 'not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DamagedRecord(key, 'not a JSON object')
  }
  return value as T
}

/**
 * As `parseRecord`, with a damaged record read as none: for the operator's deletions and scans,
 * which must get past what no request can use any more (every other read of it fails).
 */
export function parseUnlessDamaged<T>(raw: string | null, key: string): T | null {
  try {
    return parseRecord<T>(raw, key)
  } catch (error) {
    if (error instanceof DamagedRecord) return null
    throw error
  }
}
