import { describe, expect, it } from 'vitest'
import { pathSafeUserId, renderTemplate } from './template.ts'

describe('renderTemplate', () => {
  it('substitutes the user id and the data directory', () => {
    const rendered = renderTemplate('{dataDir}/memory/{userId}/memory.jsonl', {
      userId: '12345',
      dataDir: '/var/lib/gateway',
    })
    expect(rendered).toBe('/var/lib/gateway/memory/12345/memory.jsonl')
  })

  it('never lets a user id leave its directory', () => {
    for (const id of ['..', '../../etc', 'a/b', 'x'.repeat(200), '', 'ü']) {
      const safe = pathSafeUserId(id)
      expect(safe).toMatch(/^u-[0-9a-f]{32}$/)
    }
    expect(pathSafeUserId('octo-cat_1')).toBe('octo-cat_1')
  })

  it('keeps distinct ids distinct', () => {
    expect(pathSafeUserId('a.b')).not.toBe(pathSafeUserId('a_b'))
  })
})
