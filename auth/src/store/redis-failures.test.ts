import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { asUnavailable } from './redis-failures.ts'
import { StoreAccessDenied, StoreMisconfigured, StoreUnavailable } from './store.ts'

const SECRET = 'the-Password-1'

/** A reply error as ioredis makes it: the command it answered hangs on it, arguments included. */
function reply(message: string): Error {
  return Object.assign(new Error(message), {
    name: 'ReplyError',
    command: { name: 'auth', args: [SECRET] },
  })
}

function clusterFailure(lastNodeError: Error): Error {
  return Object.assign(new Error('Failed to refresh slots cache.'), {
    name: 'ClusterAllFailedError',
    lastNodeError,
  })
}

describe('asUnavailable', () => {
  it('takes a refusal from the last report when the failure itself does not say why', () => {
    const denied = asUnavailable(new Error('None of startup nodes is available'), {
      last: 'WRONGPASS invalid username-password pair or user is disabled.',
    })
    expect(denied).toBeInstanceOf(StoreAccessDenied)
    expect((denied as Error).message).toMatch(/^wrong Redis password/)
  })

  it('tells the Sentinels’ refusal from the data nodes’', () => {
    const denied = asUnavailable(new Error('Command timed out'), {
      last: 'All sentinels are unreachable. Retrying from scratch after 10ms. Last error: NOAUTH Authentication required.',
    })
    expect((denied as Error).message).toMatch(/^missing Sentinel password: .*sentinel_password/)
  })

  it('reads the node error a Cluster failure holds, and never keeps it', () => {
    const denied = asUnavailable(clusterFailure(reply('WRONGPASS invalid username-password')))
    expect(denied).toBeInstanceOf(StoreAccessDenied)
    expect((denied as Error).cause).toBeUndefined()

    // One node without cluster mode is no mistake while others may answer: the round decides.
    const unavailable = asUnavailable(clusterFailure(reply('ERR cluster support disabled')))
    expect(unavailable).toBeInstanceOf(StoreUnavailable)
    expect(unavailable).not.toBeInstanceOf(StoreMisconfigured)
    const shown = inspect(unavailable, { depth: 10 })
    expect(shown).toContain('(last connection error: ERR cluster support disabled)')
    expect(shown).not.toContain(SECRET)
  })

  it('takes the mistake of the last round when the failure itself does not say why', () => {
    const mistake = 'not a Redis Cluster: … (cluster support disabled)'
    const failure = asUnavailable(new Error('None of startup nodes is available'), { mistake })
    expect(failure).toBeInstanceOf(StoreMisconfigured)
    expect(failure).not.toBeInstanceOf(StoreAccessDenied)
    expect((failure as Error).message).toBe(mistake)
    const bug = new TypeError('not a function')
    expect(asUnavailable(bug, { mistake })).toBe(bug)
  })

  it('says a one-server client redirected by a Cluster node, without the command', () => {
    const moved = asUnavailable(reply('MOVED 3999 127.0.0.1:7001'))
    expect(moved).toBeInstanceOf(StoreMisconfigured)
    expect((moved as Error).message).toMatch(/^a Redis Cluster node: .*\(MOVED\)/)
    expect(inspect(moved, { depth: 10 })).not.toContain(SECRET)
  })

  it('tells a Cluster client a redirection it did not follow is an outage, not a wrong URL', () => {
    for (const failure of [
      new Error('Too many Cluster redirections. Last error: MOVED 3999 x:1'),
      reply('ASK 3020 127.0.0.1:40002'),
      reply('MOVED 3020 127.0.0.1:40002'),
    ]) {
      const outage = asUnavailable(failure, { cluster: true })
      expect(outage, failure.message).toBeInstanceOf(StoreUnavailable)
      expect(outage).not.toBeInstanceOf(StoreMisconfigured)
      expect(inspect(outage, { depth: 10 })).not.toContain(SECRET)
    }
  })

  it('says a script across slots a Cluster node refused, unless the client is a Cluster one', () => {
    const crossSlot = reply("CROSSSLOT Keys in request don't hash to the same slot")
    const refused = asUnavailable(crossSlot)
    expect(refused).toBeInstanceOf(StoreMisconfigured)
    expect((refused as Error).message).toMatch(/^a Redis Cluster node: .*\(CROSSSLOT\)/)
    expect(inspect(refused, { depth: 10 })).not.toContain(SECRET)
    const bug = asUnavailable(crossSlot, { cluster: true })
    expect((bug as Error).message).toBe(crossSlot.message)
    expect(inspect(bug, { depth: 10 })).not.toContain(SECRET)
  })

  it('keeps no command of a reply error, outage, full store or bug, nor of a transaction', () => {
    const failures = [
      reply('LOADING Redis is loading the dataset in memory'),
      reply("READONLY You can't write against a read only replica."),
      reply('OOM command not allowed when used memory > maxmemory.'),
      reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
      Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), {
        previousErrors: [reply('OOM command not allowed when used memory > maxmemory.')],
      }),
    ]
    for (const failure of failures) {
      const answered = asUnavailable(failure)
      const shown = inspect(answered, { depth: 10 })
      expect(shown, failure.message).toContain(failure.message.split(' ')[0])
      expect(shown, failure.message).not.toContain(SECRET)
    }
  })

  it('leaves a report alone when the failure is no outage', () => {
    const bug = new TypeError('not a function')
    expect(asUnavailable(bug, { last: 'WRONGPASS invalid username-password pair' })).toBe(bug)
  })

  it('says an outage without a report as ioredis did', () => {
    const unavailable = asUnavailable(new Error('None of startup nodes is available'))
    expect(unavailable).toBeInstanceOf(StoreUnavailable)
    expect(((unavailable as Error).cause as Error).message).toBe(
      'None of startup nodes is available'
    )
  })
})
