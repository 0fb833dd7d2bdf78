import { spawn } from 'node:child_process'
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'

/**
 * A stdio MCP server for the bridge's tests, run for real as a child process. Each tool provokes
 * one behaviour the bridge must survive: a crash, a large result, a stderr flood, a slow call.
 */
const server = new McpServer({ name: 'bridge-fixture', version: '0.0.0' })

server.registerTool('pid', { description: 'Process id of this server' }, () => ({
  content: [{ type: 'text', text: String(process.pid) }],
}))

server.registerTool(
  'echo',
  { description: 'Returns its input', inputSchema: { text: z.string() } },
  ({ text }) => ({ content: [{ type: 'text', text }] })
)

server.registerTool(
  'big',
  { description: 'Returns a text of the given size', inputSchema: { bytes: z.number().int() } },
  ({ bytes }) => ({ content: [{ type: 'text', text: 'x'.repeat(bytes) }] })
)

server.registerTool(
  'stderr-flood',
  {
    description: 'Writes many bytes to stderr (some in one long line), then answers',
    inputSchema: { bytes: z.number().int() },
  },
  async ({ bytes }) => {
    const line = `${'e'.repeat(1023)}\n`
    let written = 0
    while (written < bytes) {
      const chunk = line.repeat(64)
      if (!process.stderr.write(chunk)) await new Promise((r) => process.stderr.once('drain', r))
      written += chunk.length
    }
    process.stderr.write(`${'L'.repeat(200_000)}\n`)
    return { content: [{ type: 'text', text: `wrote ${written}` }] }
  }
)

server.registerTool(
  'process-probe',
  {
    description:
      'Who this process runs as, and what it can do to its parent (the bridge), to a peer process and to a file: read their environment, signal them, read it; writes a file in PROBE_DIR when set',
    inputSchema: { peer: z.number().int().optional(), file: z.string().optional() },
  },
  ({ peer, file }) => {
    const attempt = (action: () => unknown) => {
      try {
        action()
        return 'allowed'
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? 'failed'
      }
    }
    const probeDir = process.env.PROBE_DIR
    const report = {
      uid: process.getuid?.(),
      gid: process.getgid?.(),
      groups: process.getgroups?.(),
      home: process.env.HOME,
      user: process.env.USER,
      readBridgeEnvironment: attempt(() => readFileSync(`/proc/${process.ppid}/environ`)),
      signalBridge: attempt(() => process.kill(process.ppid, 0)),
      writeProbeDir: probeDir ? attempt(() => writeFileSync(`${probeDir}/probe`, 'x')) : 'unset',
      probeDirOwner: probeDir ? statSync(probeDir).uid : undefined,
      probeDirMode: probeDir ? (statSync(probeDir).mode & 0o777).toString(8) : undefined,
      readPeerEnvironment:
        peer === undefined ? 'unset' : attempt(() => readFileSync(`/proc/${peer}/environ`)),
      newFileMode: newFileMode(),
      readFile: file === undefined ? 'unset' : attempt(() => readFileSync(file)),
    }
    return { content: [{ type: 'text', text: JSON.stringify(report) }] }
  }
)

/** The permissions a file created with the defaults gets (the umask at work), in octal. */
function newFileMode(): string {
  const file = join(tmpdir(), `probe-${process.pid}`)
  writeFileSync(file, 'x')
  const mode = statSync(file).mode & 0o777
  unlinkSync(file)
  return mode.toString(8)
}

server.registerTool(
  'leave-behind',
  {
    description:
      'Starts a process of its own that outlives this server and writes a file in the temporary directory; says which',
  },
  () => {
    const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
    })
    helper.unref()
    const file = join(tmpdir(), `left-behind-${process.pid}`)
    writeFileSync(file, 'what the next server under this id must not read')
    const report = { uid: process.getuid?.(), helperPid: helper.pid, file }
    return { content: [{ type: 'text', text: JSON.stringify(report) }] }
  }
)

server.registerTool('crash', { description: 'Exits with code 3 mid-call' }, () => {
  setTimeout(() => process.exit(3), 10)
  return new Promise<never>(() => {})
})

server.registerTool(
  'sleep',
  { description: 'Answers after the given delay', inputSchema: { ms: z.number().int() } },
  async ({ ms }) => {
    await new Promise((r) => setTimeout(r, ms))
    return { content: [{ type: 'text', text: 'awake' }] }
  }
)

server.registerTool(
  'block',
  {
    description:
      'Keeps its thread busy for the given time: it reads nothing meanwhile, then answers',
    inputSchema: { ms: z.number().int() },
  },
  ({ ms }) => {
    const until = Date.now() + ms
    while (Date.now() < until) {
      // Busy on purpose: a server stuck in a computation reads no input.
    }
    return { content: [{ type: 'text', text: 'unblocked' }] }
  }
)

server.registerTool(
  'ask',
  {
    description:
      'Reports progress (when the call has a progress token), waits, asks the user (elicitation) and answers with their action',
    inputSchema: { waitMs: z.number().int() },
  },
  async ({ waitMs }, extra) => {
    const progressToken = extra._meta?.progressToken
    if (progressToken !== undefined) {
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress: 1, total: 2 },
      })
    }
    await new Promise((r) => setTimeout(r, waitMs))
    const reply = await extra.sendRequest(
      {
        method: 'elicitation/create',
        params: { message: 'Go on?', requestedSchema: { type: 'object', properties: {} } },
      },
      ElicitResultSchema
    )
    return { content: [{ type: 'text', text: reply.action }] }
  }
)

await server.connect(new StdioServerTransport())
