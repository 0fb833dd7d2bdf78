import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { ServiceDefinition } from './catalog.ts'
import {
  childUserAdvice,
  childUserProblem,
  parseChildUser,
  parseUidRange,
  runAs,
  SETPRIV,
} from './child-user.ts'
import { parseBridgeConfig } from './config.ts'
import {
  connectClient,
  fixtureService,
  startTestBridge,
  type TestBridge,
  textOf,
} from './testing/harness.ts'
import { postModern } from './testing/modern-client.ts'

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'node:x:1000:1000::/home/node:/bin/bash',
  '# not an entry',
  '',
].join('\n')

describe('CHILD_USER', () => {
  it('is a name from the password database, or uid[:gid]', () => {
    expect(parseChildUser('node', PASSWD)).toEqual({
      uid: 1000,
      gid: 1000,
      name: 'node',
      home: '/home/node',
    })
    expect(parseChildUser('1000', PASSWD)).toMatchObject({ uid: 1000, gid: 1000, name: 'node' })
    expect(parseChildUser('1000:2000', PASSWD)).toMatchObject({ uid: 1000, gid: 2000 })
    expect(parseChildUser('4242', PASSWD)).toEqual({
      uid: 4242,
      gid: 4242,
      name: undefined,
      home: undefined,
    })
  })

  it('refuses root and names not in the database, saying why', () => {
    expect(() => parseChildUser('root', PASSWD)).toThrow('children never run as root')
    expect(() => parseChildUser('0', PASSWD)).toThrow('children never run as root')
    expect(() => parseChildUser('1000:0', PASSWD)).toThrow('children never run as root')
    expect(() => parseChildUser('mallory', PASSWD)).toThrow('no such user in /etc/passwd')
    // setresuid reads (uid_t)-1 as "leave it": such a child would stay root.
    expect(() => parseChildUser('4294967295', PASSWD)).toThrow('ids go up to 4294967294')
    expect(() => parseChildUser('1000:4294967295', PASSWD)).toThrow('ids go up to 4294967294')
    expect(() => parseBridgeConfig({ CHILD_USER: 'root' })).toThrow(
      'CHILD_USER: root: children never run as root'
    )
  })

  it('reads CHILD_UID_RANGE as first-last, needing CHILD_USER and room for the caps', () => {
    expect(parseUidRange('100000-100999', PASSWD)).toEqual({ first: 100000, last: 100999 })
    expect(() => parseUidRange('0-10', PASSWD)).toThrow('ids from 1 to 4294967294')
    expect(() => parseUidRange('10-4294967295', PASSWD)).toThrow('ids from 1 to 4294967294')
    expect(() => parseUidRange('20-10', PASSWD)).toThrow('the first not above the last')
    expect(() => parseUidRange('1000', PASSWD)).toThrow('write first-last')
    expect(() => parseUidRange('900-1100', PASSWD)).toThrow(
      'holds the id of the account node (1000); choose ids no account has'
    )
    expect(() => parseBridgeConfig({ CHILD_UID_RANGE: '100000-100999' })).toThrow(
      'CHILD_UID_RANGE: needs CHILD_USER'
    )
    expect(() =>
      parseBridgeConfig({
        CHILD_USER: '4242',
        CHILD_UID_RANGE: '100000-100009',
        MAX_SESSIONS: '6',
      })
    ).toThrow('CHILD_UID_RANGE: 10 ids, fewer than 4 x MAX_SESSIONS (24)')
    expect(() =>
      parseBridgeConfig({ CHILD_USER: '100500:100500', CHILD_UID_RANGE: '100000-100999' })
    ).toThrow("CHILD_UID_RANGE: holds CHILD_USER's id 100500")
  })

  it('is advised to a bridge that runs as root without it, and to nobody else', () => {
    expect(childUserAdvice(undefined, 0)).toContain('the MCP servers run as root too')
    expect(childUserAdvice(parseChildUser('node', PASSWD), 0)).toBeUndefined()
    expect(childUserAdvice(undefined, 1000)).toBeUndefined()
    expect(childUserAdvice(undefined, undefined)).toBeUndefined()
  })

  it('starts the server through setpriv and a umask of 077, with the user’s name and home', () => {
    const spec = runAs(parseChildUser('node', PASSWD), {
      command: '/usr/bin/node',
      args: ['server.js', '--flag'],
      env: { MEMORY_FILE_PATH: '/data/x', HOME: '/root' },
    })
    expect(spec.command).toBe(SETPRIV)
    expect(spec.args).toEqual([
      '--reuid=1000',
      '--regid=1000',
      '--clear-groups',
      '--no-new-privs',
      '--',
      '/bin/sh',
      '-c',
      'umask 077 && exec "$@"',
      'sh',
      '/usr/bin/node',
      'server.js',
      '--flag',
    ])
    expect(spec.env).toEqual({
      MEMORY_FILE_PATH: '/data/x',
      HOME: '/home/node',
      USER: 'node',
      LOGNAME: 'node',
    })
  })
})

const NOBODY = '65534:65534'

/** What compose adds to its MCP containers after dropping every capability. */
function composeCapabilities(): string[] {
  const text = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')
  const compose = parse(text, { merge: true }) as {
    services: Record<string, { cap_add?: string[] }>
  }
  return compose.services['mcp-echo']?.cap_add ?? []
}

/**
 * Runs `testing/close-as-bridge.ts` as root with only `capabilities` (as a container started with
 * `cap_drop: [ALL]` and `cap_add`), and says whether it could end a child started as nobody.
 */
async function closeUnder(capabilities: readonly string[]): Promise<string> {
  const bounding = ['-all', ...capabilities.map((name) => `+${name.toLowerCase()}`)].join(',')
  const script = fileURLToPath(new URL('./testing/close-as-bridge.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(SETPRIV, [
    `--bounding-set=${bounding}`,
    '--no-new-privs',
    '--',
    process.execPath,
    script,
    NOBODY,
  ])
  const [outcome, pid] = stdout.trim().split(/ (?=\d+$)/)
  if (outcome !== 'ended') process.kill(Number(pid), 'SIGKILL')
  return outcome ?? ''
}

/** Switching users needs root (or CAP_SETUID and CAP_SETGID) and util-linux's setpriv. */
const canSwitch = process.getuid?.() === 0 && existsSync(SETPRIV)

/** The fixture with a per-user directory it is told about. */
const probedService: ServiceDefinition = {
  ...fixtureService,
  perUserDirectories: ['{dataDir}/probe/{userId}'],
  env: { PROBE_DIR: '{dataDir}/probe/{userId}' },
}

describe.runIf(canSwitch)('children under CHILD_USER', { timeout: 60_000 }, () => {
  let bridge: TestBridge | undefined
  afterEach(async () => {
    await bridge?.close()
    bridge = undefined
  })

  it('can be switched to from here, and the switch is checked by what the process reports', () => {
    expect(childUserProblem(parseChildUser(NOBODY, ''))).toBeUndefined()
    // Ids the parser refuses, given anyway: setpriv "switches" to (uid_t)-1 and stays root.
    expect(childUserProblem({ uid: 4_294_967_295, gid: 4_294_967_295 })).toBe(
      'a process started as uid 4294967295, gid 4294967295 ran with uids and gids 0 0 0 0 0 0 0 0, groups none'
    )
  })

  it('run as that user in both eras, and can neither read the bridge’s environment nor signal it', async () => {
    const started = await startTestBridge(probedService, { childUser: parseChildUser(NOBODY, '') })
    bridge = started
    // The data directory belongs to the children's user, as the compose volume does.
    await chown(started.dataDir, 65534, 65534)
    const expected = {
      uid: 65534,
      gid: 65534,
      groups: [65534],
      readBridgeEnvironment: 'EACCES',
      signalBridge: 'EPERM',
      writeProbeDir: 'allowed',
      probeDirOwner: 65534,
      probeDirMode: '700',
      // umask 077: what a server creates is its user's alone.
      newFileMode: '600',
    }

    const { client } = await connectClient(started.url, 'alice')
    const session = JSON.parse(textOf(await client.callTool({ name: 'process-probe' })))
    await client.close()
    expect(session).toMatchObject(expected)

    // Bob's directory as an earlier version made it: open to every other server. It is closed.
    const bobs = join(started.dataDir, 'probe', 'bob')
    await mkdir(bobs, { recursive: true, mode: 0o755 })
    await chmod(bobs, 0o755)
    await chown(bobs, 65534, 65534)
    const { status, json } = await postModern(
      started.url,
      'bob',
      { method: 'tools/call', params: { name: 'process-probe', arguments: {} } },
      { 'Mcp-Name': 'process-probe' }
    )
    expect(status).toBe(200)
    expect(JSON.parse(textOf(json.result))).toMatchObject(expected)
  })

  it('with CHILD_UID_RANGE, cannot read each other’s environment; sharing CHILD_USER, they can', async () => {
    const range = parseUidRange('200000-200099', '')
    const childUser = parseChildUser(NOBODY, '')
    const peerRead = async (service: ServiceDefinition) => {
      const started = await startTestBridge(service, { childUser, childUidRange: range })
      bridge = started
      await chown(started.dataDir, 65534, 65534)
      const { client: bob } = await connectClient(started.url, 'bob')
      const bobPid = Number(textOf(await bob.callTool({ name: 'pid' })))
      const { client: alice } = await connectClient(started.url, 'alice')
      const report = JSON.parse(
        textOf(await alice.callTool({ name: 'process-probe', arguments: { peer: bobPid } }))
      )
      await Promise.all([alice.close(), bob.close()])
      await started.close()
      bridge = undefined
      return report
    }
    // The fixture keeps no per-user data: each child its own id, the lowest free one.
    expect(await peerRead(fixtureService)).toMatchObject({
      uid: 200001,
      gid: 65534,
      readPeerEnvironment: 'EACCES',
      readBridgeEnvironment: 'EACCES',
    })
    // With per-user data both run as CHILD_USER, the data's owner.
    expect(await peerRead(probedService)).toMatchObject({
      uid: 65534,
      readPeerEnvironment: 'allowed',
    })
  })

  it('can be ended by a bridge with the capabilities compose gives it, and not without KILL', async () => {
    const capabilities = composeCapabilities()
    expect(capabilities).toContain('KILL')
    expect(await closeUnder(capabilities)).toBe('ended')
    expect(await closeUnder(capabilities.filter((name) => name !== 'KILL'))).toBe('still running')
  })

  it('leaves the children as the bridge’s own user when unset (the comparison)', async () => {
    const started = await startTestBridge(probedService)
    bridge = started
    const { client } = await connectClient(started.url, 'alice')
    const report = JSON.parse(textOf(await client.callTool({ name: 'process-probe' })))
    await client.close()
    expect(report).toMatchObject({
      uid: 0,
      readBridgeEnvironment: 'allowed',
      signalBridge: 'allowed',
    })
  })
})
