import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { startChild } from '../child-process.ts'
import { parseChildUser, readPasswd, runAs } from '../child-user.ts'

/**
 * Starts one child as the user named by the first argument, as the bridge does, then ends it as
 * the bridge does, and prints `ended` or `still running` (and the child's pid) once that is known: run under a
 * container's capabilities, it shows whether a bridge there can end its children.
 */
const user = parseChildUser(process.argv[2] ?? '', readPasswd())
const stubborn = fileURLToPath(new URL('./stubborn-server.ts', import.meta.url))
const child = await startChild(
  runAs(user, { command: process.execPath, args: [stubborn], env: {} }),
  pino({ level: 'silent' })
)
// `close` gives up a while after SIGKILL: whether the process ended is what tells.
const outcome = await Promise.race([
  child.close().then(() => (child.hasExited ? 'ended' : 'still running')),
  sleep(10_000).then(() => 'still running'),
])
// The pid too: a child this process could not end is the caller's to end.
process.stdout.write(`${outcome} ${child.pid}\n`)
process.exit(0)
