import { describe, expect, it } from 'vitest'
import { LruCache } from './lru-cache.ts'

describe('LruCache', () => {
  it('keeps at most its capacity', () => {
    const cache = new LruCache<number, number>(3)
    for (let i = 0; i < 10; i++) cache.set(i, i)
    expect(cache.size).toBe(3)
    expect([7, 8, 9].map((key) => cache.get(key))).toEqual([7, 8, 9])
  })

  it('forgets an entry not read since before ones that were', () => {
    const cache = new LruCache<string, number>(3)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('c', 3)
    cache.get('a')
    cache.set('d', 4)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBe(1)
    expect(cache.get('d')).toBe(4)
  })

  it('replaces, deletes and refuses a useless capacity', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('a', 1)
    cache.set('a', 2)
    expect(cache.get('a')).toBe(2)
    cache.delete('a')
    expect(cache.get('a')).toBeUndefined()
    expect(() => new LruCache(0)).toThrow(RangeError)
  })
})
