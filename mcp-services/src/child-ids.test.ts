import { existsSync, readFileSync } from 'node:fs'
import { chown } from 'node:fs/promises'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createChildUsers } from './child-ids.ts'
import { startChild } from './child-process.ts'
import { type ChildUser, parseChildUser, parseUidRange, runAs, SETPRIV } from './child-user.ts'
import {
  connectClient,
  fixtureService,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'

const PASSWD = 'node:x:1000:1000::/home/node:/bin/bash'

/** A reclaim that finishes when the test says so. */
function heldReclaims() {
  const pending: { uid: number; finish(): void; fail(): void }[] = []
  const reclaim = (user: ChildUser) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ uid: user.uid, finish: resolve, fail: () => reject(new Error('no')) })
    })
  return { pending, reclaim }
}

const settled = () => new Promise((resolve) => setImmediate(resolve))

describe('the ids of CHILD_UID_RANGE', () => {
  it('gives each child of a service without data an id of its own, the lowest free one', () => {
    const base = parseChildUser('node', PASSWD)
    const users = createChildUsers(base, parseUidRange('5000-5001', PASSWD))
    const first = users.forChild(false)
    const second = users.forChild(false)
    expect([first.user.uid, second.user.uid]).toEqual([5000, 5001])
    // CHILD_USER's group and home, not its name: USER and LOGNAME say the id.
    expect(first.user).toEqual({ uid: 5000, gid: 1000, home: '/home/node' })
    expect(runAs(first.user, { command: 'x', args: [], env: {} }).env).toEqual({
      USER: '5000',
      LOGNAME: '5000',
      HOME: '/home/node',
    })
    expect(() => users.forChild(false)).toThrow('every id of CHILD_UID_RANGE (5000-5001) is in use')
    // A service with per-user data runs as CHILD_USER, which owns that data.
    expect(users.forChild(true).user).toBe(base)
    expect(createChildUsers(base).forChild(false).user).toBe(base)
  })

  it('takes an ended child’s id back only once what it left is cleared, and never when that failed', async () => {
    const { pending, reclaim } = heldReclaims()
    const errors: unknown[] = []
    const logger = pino(
      { level: 'error' },
      { write: (line: string) => errors.push(JSON.parse(line)) }
    )
    const users = createChildUsers(
      parseChildUser('node', PASSWD),
      parseUidRange('5000-5001', PASSWD),
      {
        reclaim,
        logger,
      }
    )
    const first = users.forChild(false)
    const second = users.forChild(false)
    first.release()
    first.release()
    expect(pending.map((p) => p.uid)).toEqual([5000])
    // Until the clearing is done, 5000 may still run something of the ended child's.
    expect(() => users.forChild(false)).toThrow('in use')
    pending[0]?.finish()
    await settled()
    const third = users.forChild(false)
    expect(third.user.uid).toBe(5000)

    second.release()
    pending[1]?.fail()
    await settled()
    third.release()
    pending[2]?.finish()
    await settled()
    expect(users.forChild(false).user.uid).toBe(5000)
    expect(() => users.forChild(false)).toThrow('in use')
    expect(errors).toMatchObject([{ event: 'child_id_not_reclaimed', uid: 5001 }])
  })

  it('is given back when the child exits, and when it cannot be started at all', async () => {
    const given: string[] = []
    const child = await startChild(
      { command: process.execPath, args: ['-e', ''], env: {}, onExit: () => given.push('exited') },
      pino({ level: 'silent' })
    )
    await child.exited
    await Promise.resolve()
    expect(given).toEqual(['exited'])
    await expect(
      startChild(
        { command: '/nonexistent', args: [], env: {}, onExit: () => given.push('unstarted') },
        pino({ level: 'silent' })
      )
    ).rejects.toThrow()
    await Promise.resolve()
    expect(given).toEqual(['exited', 'unstarted'])
  })
})

/** Switching users needs root (or CAP_SETUID and CAP_SETGID) and util-linux's setpriv. */
const canSwitch = process.getuid?.() === 0 && existsSync(SETPRIV)

/** Whether `pid` runs: it exists and is not a zombie (an ended process nobody has reaped yet). */
const running = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

describe.runIf(canSwitch)('a reused id of CHILD_UID_RANGE', { timeout: 60_000 }, () => {
  let bridge: TestBridge | undefined
  afterEach(async () => {
    await bridge?.close()
    bridge = undefined
  })

  it('comes to the next child without the processes and files the last one left', async () => {
    const started = await startTestBridge(fixtureService, {
      childUser: parseChildUser('65534:65534', ''),
      childUidRange: parseUidRange('210000-210099', ''),
    })
    bridge = started
    await chown(started.dataDir, 65534, 65534)
    const { client: alice, transport: aliceSession } = await connectClient(started.url, 'alice')
    const left = JSON.parse(textOf(await alice.callTool({ name: 'leave-behind' }))) as {
      uid: number
      helperPid: number
      file: string
    }
    expect(left.uid).toBe(210000)
    expect(running(left.helperPid)).toBe(true)
    expect(existsSync(left.file)).toBe(true)
    // Ending the session ends its server.
    await aliceSession.terminateSession()
    await alice.close()

    // Later children, each ended before the next: once 210000 is free again, the one that gets it
    // finds neither the helper (whose environment it could read) nor the file.
    let probe: Record<string, unknown> = {}
    for (let attempt = 0; attempt < 20 && probe.uid !== 210000; attempt++) {
      const { client, transport } = await connectClient(started.url, `user-${attempt}`)
      probe = JSON.parse(
        textOf(
          await client.callTool({
            name: 'process-probe',
            arguments: { peer: left.helperPid, file: left.file },
          })
        )
      )
      await transport.terminateSession()
      await client.close()
    }
    expect(probe).toMatchObject({ uid: 210000, readFile: 'ENOENT', newFileMode: '600' })
    // Gone, or a zombie whose environment is gone with it: in no case readable.
    expect(['ENOENT', 'EACCES']).toContain(probe.readPeerEnvironment)
    expect(running(left.helperPid)).toBe(false)
  })
})
