import {
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findService } from './catalog.ts'
import { connectClient, startTestBridge, type TestBridge, textOf } from './testing/harness.ts'
import { postModern } from './testing/modern-client.ts'

/** A tool of `everything` that runs only as a 2025-11-25 task (`taskSupport: "required"`). */
const TASK_TOOL = 'simulate-research-query'

// `everything` declares 2025-11-25 tasks and answers `tasks/*`: the one catalog server that does.
describe('tasks on a child that offers them (everything)', () => {
  let bridge: TestBridge
  beforeAll(async () => {
    const service = findService('everything')
    if (!service) throw new Error('no service everything in the catalog')
    bridge = await startTestBridge(service)
  })
  afterAll(() => bridge.close())

  // 2026-07-28 removed tasks/list and tasks/result; tasks/get, tasks/update and tasks/cancel
  // belong to the tasks extension, which the bridge does not offer. The child would answer all
  // but tasks/update, about tasks of its own.
  it.each([
    ['tasks/list', {}],
    ['tasks/result', { taskId: 't-1' }],
    ['tasks/get', { taskId: 't-1' }],
    ['tasks/update', { taskId: 't-1', inputResponses: {} }],
    ['tasks/cancel', { taskId: 't-1' }],
  ])('answers %s of the stateless era with 404 and -32601', async (method, params) => {
    const headers = 'taskId' in params ? { 'Mcp-Name': params.taskId } : {}
    const reply = await postModern(bridge.url, 'alice', { method, params, id: 5 }, headers)
    expect(reply.status).toBe(404)
    expect(reply.json).toMatchObject({ id: 5, error: { code: -32601 } })
    expect(reply.json.error?.message).toMatch(new RegExp(`^Method not found: ${method} \\(`))
  })

  it('answers a stateless call carrying a legacy task as an ordinary call', async () => {
    const task = { ttl: 60_000, pollInterval: 100 }
    const echo = await postModern(
      bridge.url,
      'alice',
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'plain' }, task } },
      { 'Mcp-Name': 'echo' }
    )
    expect(echo.status).toBe(200)
    expect(echo.json.result).toMatchObject({ resultType: 'complete' })
    expect(textOf(echo.json.result)).toBe('Echo: plain')
    // A tool that only runs as a task is not started as one: the client could not poll it.
    const research = await postModern(
      bridge.url,
      'alice',
      { method: 'tools/call', params: { name: TASK_TOOL, arguments: { topic: 'x' }, task } },
      { 'Mcp-Name': TASK_TOOL }
    )
    expect(research.status).toBe(200)
    expect(research.json.result).toMatchObject({ resultType: 'complete', isError: true })
    expect(research.json.result).not.toHaveProperty('task')
  })

  it('lists no tool that runs only as a task to a stateless client, and the others without execution', async () => {
    const listed = await postModern(bridge.url, 'alice', { method: 'tools/list', params: {} })
    const tools = (listed.json.result as { tools: { name: string; execution?: unknown }[] }).tools
    expect(tools.map((tool) => tool.name)).toContain('echo')
    expect(tools.map((tool) => tool.name)).not.toContain(TASK_TOOL)
    expect(tools.filter((tool) => tool.execution !== undefined)).toEqual([])
    // A session of the era that has tasks still sees it.
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const inSession = await client.listTools()
    expect(inSession.tools.map((tool) => tool.name)).toContain(TASK_TOOL)
    await transport.terminateSession()
  })

  it('passes tasks through unchanged in a 2025-11-25 session', async () => {
    const { client, transport } = await connectClient(bridge.url, 'alice')
    const created = await client.request(
      {
        method: 'tools/call',
        params: { name: TASK_TOOL, arguments: { topic: 'x' }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema
    )
    const { taskId } = created.task
    const got = await client.request(
      { method: 'tasks/get', params: { taskId } },
      GetTaskResultSchema
    )
    expect(got).toMatchObject({ taskId, status: expect.stringMatching(/working|completed/) })
    const listed = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema)
    expect(listed.tasks.map((entry) => entry.taskId)).toContain(taskId)
    await transport.terminateSession()
  })
})
