import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { MembershipCache, type MembershipDirectory } from './memberships.ts'

/** A small directory of its own: users, their memberships, and how often it was asked. */
class TeamDirectory implements MembershipDirectory {
  readonly asked: string[] = []
  failing = false
  readonly users = new Map<string, { orgs: number[]; teams: number[] }>()

  async user(id: string) {
    this.asked.push(id)
    if (this.failing) throw new Error('directory down')
    const found = this.users.get(id)
    if (!found) return null
    return {
      organizations: found.orgs.map((org) => ({ id: org, login: `org${org}` })),
      teams: found.teams.map((team) => ({ id: team, slug: `team${team}` })),
    }
  }
}

const logger = pino({ level: 'silent' })

describe('MembershipCache', () => {
  it('asks the directory once per user within 30 s, then again', async () => {
    const directory = new TeamDirectory()
    directory.users.set('1', { orgs: [500], teams: [77] })
    let now = 0
    const cache = new MembershipCache(directory, { logger, now: () => now })
    const first = await cache.subject('1')
    expect(first).toEqual({ userId: '1', organizations: ['500'], teams: ['77'] })
    now = 29_999
    expect(await cache.subject('1')).toBe(first)
    expect(directory.asked).toEqual(['1'])
    directory.users.set('1', { orgs: [500], teams: [] })
    now = 30_000
    expect((await cache.subject('1')).teams).toEqual([])
    expect(directory.asked).toEqual(['1', '1'])
  })

  it('shares one lookup between concurrent requests of a user', async () => {
    const directory = new TeamDirectory()
    const cache = new MembershipCache(directory, { logger, now: () => 0 })
    await Promise.all([cache.subject('2'), cache.subject('2'), cache.subject('2')])
    expect(directory.asked).toEqual(['2'])
  })

  it('fails closed, and keeps a failure 5 s only', async () => {
    const directory = new TeamDirectory()
    directory.users.set('1', { orgs: [500], teams: [77] })
    directory.failing = true
    let now = 0
    const cache = new MembershipCache(directory, { logger, now: () => now })
    expect(await cache.subject('1')).toEqual({ userId: '1', organizations: [], teams: [] })
    directory.failing = false
    now = 4_999
    expect((await cache.subject('1')).teams).toEqual([])
    expect(directory.asked).toEqual(['1'])
    now = 5_000
    expect((await cache.subject('1')).teams).toEqual(['77'])
  })

  it('keeps at most maxEntries users', async () => {
    const directory = new TeamDirectory()
    const cache = new MembershipCache(directory, { logger, now: () => 0, maxEntries: 2 })
    for (const id of ['1', '2', '3', '1']) await cache.subject(id)
    expect(directory.asked).toEqual(['1', '2', '3', '1'])
  })

  it('knows nobody without a directory', async () => {
    const cache = new MembershipCache(undefined, { logger, now: () => 0 })
    expect(await cache.subject('1')).toEqual({ userId: '1', organizations: [], teams: [] })
  })
})
