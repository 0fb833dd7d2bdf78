import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chown, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createChildUsers } from './child-ids.ts'
import { startChild } from './child-process.ts'
import { type ChildUser, parseChildUser, parseUidRange, runAs, SETPRIV } from './child-user.ts'
import { capturedLogs } from './testing/captured-logs.ts'
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

/** Error lines of a logger, parsed. */
const errorLog = () => capturedLogs('error')

describe('the ids of CHILD_UID_RANGE', () => {
  const base = parseChildUser('node', PASSWD)
  const range = parseUidRange('5000-5001', PASSWD)

  it('gives each child of a service without data an id of its own, the lowest free one, cleared before its first use', async () => {
    const reclaimed: number[] = []
    const users = createChildUsers(base, range, {
      reclaim: async (user) => {
        reclaimed.push(user.uid)
      },
    })
    const first = await users.forChild(false)
    const second = await users.forChild(false)
    expect([first.user.uid, second.user.uid]).toEqual([5000, 5001])
    expect(reclaimed).toEqual([5000, 5001])
    // CHILD_USER's group and home, not its name: USER and LOGNAME say the id.
    expect(first.user).toEqual({ uid: 5000, gid: 1000, home: '/home/node' })
    expect(runAs(first.user, { command: 'x', args: [], env: {} }).env).toEqual({
      USER: '5000',
      LOGNAME: '5000',
      HOME: '/home/node',
    })
    await expect(users.forChild(false)).rejects.toThrow(
      'every id of CHILD_UID_RANGE (5000-5001) is in use'
    )
    // A service with per-user data runs as CHILD_USER, which owns that data.
    expect((await users.forChild(true)).user).toBe(base)
    expect((await createChildUsers(base).forChild(false)).user).toBe(base)
    expect(reclaimed).toEqual([5000, 5001])
  })

  it('takes an ended child’s id back only once what it left is cleared, and never when that failed', async () => {
    const { pending, reclaim } = heldReclaims()
    const { lines, logger } = errorLog()
    const users = createChildUsers(base, range, { reclaim, logger })
    const allot = async () => {
      const allotted = users.forChild(false)
      await settled()
      pending.at(-1)?.finish()
      return allotted
    }
    const first = await allot()
    const second = await allot()
    first.release()
    first.release()
    expect(pending.map((p) => p.uid)).toEqual([5000, 5001, 5000])
    // Until the clearing is done, 5000 may still run something of the ended child's.
    await expect(users.forChild(false)).rejects.toThrow('in use')
    pending[2]?.finish()
    await settled()
    // Cleared after its last child: given out again without another clearing.
    const third = await users.forChild(false)
    expect(third.user.uid).toBe(5000)
    expect(pending).toHaveLength(3)

    second.release()
    pending[3]?.fail()
    await settled()
    third.release()
    pending[4]?.finish()
    await settled()
    expect((await users.forChild(false)).user.uid).toBe(5000)
    await expect(users.forChild(false)).rejects.toThrow('in use')
    expect(lines).toMatchObject([{ event: 'child_id_not_reclaimed', uid: 5001 }])
  })

  it('is not given out when it cannot be cleared before its first use, nor ever after', async () => {
    const { lines, logger } = errorLog()
    const users = createChildUsers(base, range, {
      reclaim: async (user) => {
        if (user.uid === 5000) throw new Error('no')
      },
      logger,
    })
    await expect(users.forChild(false)).rejects.toThrow(
      'id 5000 of CHILD_UID_RANGE could not be cleared before its first use'
    )
    expect((await users.forChild(false)).user.uid).toBe(5001)
    await expect(users.forChild(false)).rejects.toThrow('in use')
    expect(lines).toMatchObject([{ event: 'child_id_not_reclaimed', uid: 5000 }])
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

describe.runIf(canSwitch)('the ids of CHILD_UID_RANGE, run for real', { timeout: 60_000 }, () => {
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

  it('is cleared before its first use of what was left under it before the bridge started', async () => {
    // A process and a file under an id of the range, as a crashed bridge's children leave them.
    const helper = spawn(
      SETPRIV,
      [
        '--reuid=220000',
        '--regid=65534',
        '--clear-groups',
        '--',
        process.execPath,
        '-e',
        'setInterval(() => {}, 1000)',
      ],
      { detached: true, stdio: 'ignore' }
    )
    helper.unref()
    const helperPid = helper.pid ?? -1
    const file = join(tmpdir(), `left-before-start-${process.pid}`)
    await writeFile(file, 'what no later server may read', { mode: 0o600 })
    await chown(file, 220000, 65534)
    await expect.poll(() => running(helperPid), { timeout: 10_000 }).toBe(true)

    const started = await startTestBridge(fixtureService, {
      childUser: parseChildUser('65534:65534', ''),
      childUidRange: parseUidRange('220000-220099', ''),
    })
    bridge = started
    await chown(started.dataDir, 65534, 65534)
    const { client } = await connectClient(started.url, 'alice')
    const probe = JSON.parse(
      textOf(await client.callTool({ name: 'process-probe', arguments: { peer: helperPid, file } }))
    )
    await client.close()
    expect(probe).toMatchObject({ uid: 220000, readFile: 'ENOENT' })
    expect(['ENOENT', 'EACCES']).toContain(probe.readPeerEnvironment)
    expect(running(helperPid)).toBe(false)
  })
})
