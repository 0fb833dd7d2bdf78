import type {
  McpServer,
  RegisteredPrompt,
  RegisteredTool,
} from '@modelcontextprotocol/sdk/server/mcp.js'
import type {
  CallToolResult,
  CreateMessageRequestParams,
  ElicitRequestFormParams,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { CLIENT_CAPABILITIES_META_KEY, INPUT_KEY_META_KEY } from '../../modern-protocol.ts'

/**
 * The diagnostic tools and prompt of the suite's 2026-07-28 scenarios (`server-stateless`,
 * `input-required-result-*`), under the names they call. The fixture stays a 2025-era stdio
 * server: it asks the client through ordinary `elicitation/create`, `sampling/createMessage` and
 * `roots/list` requests, and the bridge turns them into `input_required` results. Each request
 * names its input key (`_meta[INPUT_KEY_META_KEY]`), as the scenarios expect (`user_name`, ...).
 */
export function registerStatelessHooks(server: McpServer): void {
  const ask = asker(server)

  server.registerTool(
    'test_missing_capability',
    { description: 'Needs sampling: the bridge refuses a client without it (-32021)' },
    async () => text(`Sampled: ${await ask.sample('any', 'Say something')}`)
  )

  server.registerTool(
    'test_input_required_result_elicitation',
    { description: 'Asks for a name (input user_name), then greets' },
    async () => {
      const answer = await ask.elicit('user_name', 'What is your name?', 'name')
      return text(`Hello, ${answer ?? 'nobody'}!`)
    }
  )
  server.registerTool(
    'test_input_required_result_sampling',
    { description: 'Asks the client to sample (input capital_question)' },
    async () => text(await ask.sample('capital_question', 'What is the capital of France?', 100))
  )
  server.registerTool(
    'test_input_required_result_list_roots',
    { description: "Asks for the client's roots (input client_roots)" },
    async () => text(`Roots: ${(await ask.roots('client_roots')).join(', ')}`)
  )
  for (const name of [
    'test_input_required_result_request_state',
    'test_input_required_result_tampered_state',
  ]) {
    server.registerTool(
      name,
      { description: 'Asks for a confirmation (input confirm); the retry must carry requestState' },
      async () => {
        // The bridge resumes this call only for the requestState it issued for it.
        const ok = await ask.confirm('confirm', 'Please confirm')
        return text(`state-ok: confirmed=${ok}`)
      }
    )
  }
  server.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'Asks for a name, a sampled greeting and the roots at once' },
    async () => {
      const [name, greeting, roots] = await Promise.all([
        ask.elicit('user_name', 'What is your name?', 'name'),
        ask.sample('greeting', 'Generate a greeting', 50),
        ask.roots('client_roots'),
      ])
      return text(`${greeting} ${name ?? 'nobody'} (roots: ${roots.join(', ')})`)
    }
  )
  server.registerTool(
    'test_input_required_result_multi_round',
    { description: 'Asks for a name (step1), then for a colour (step2)' },
    async () => {
      const name = await ask.elicit('step1', 'Step 1: What is your name?', 'name')
      const color = await ask.elicit('step2', 'Step 2: What is your favorite color?', 'color')
      return text(`${name ?? 'nobody'} likes ${color ?? 'no colour'}`)
    }
  )
  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'Asks only what the request declares it can answer (elicitation, sampling)' },
    async (extra) => {
      // A 2025-era child learns the client's capabilities at initialize; the bridge also passes
      // each stateless request's own declaration in `_meta`.
      const declared = extra._meta?.[CLIENT_CAPABILITIES_META_KEY]
      const can = (name: string) =>
        typeof declared === 'object' && declared !== null && name in declared
      const answers = await Promise.all([
        can('elicitation') ? ask.elicit('user_name', 'What is your name?', 'name') : undefined,
        can('sampling') ? ask.sample('greeting', 'Generate a greeting', 50) : undefined,
      ])
      return text(`Answers: ${JSON.stringify(answers)}`)
    }
  )
  server.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'A prompt that first asks the user for its context (input user_context)' },
    async () => {
      const context = await ask.elicit(
        'user_context',
        'What context should the prompt use?',
        'context'
      )
      return {
        messages: [
          { role: 'user', content: { type: 'text', text: `Context: ${context ?? 'none'}` } },
        ],
      }
    }
  )

  // `http-custom-header-server-validation` looks for a string parameter mirrored into an
  // `Mcp-Param-*` header (SEP-2243); the bridge checks the header against the arguments.
  server.registerTool(
    'test_param_header',
    {
      description: 'Echoes a region that clients also send as the Mcp-Param-Region header',
      inputSchema: {
        region: z.string().describe('a region').meta({ 'x-mcp-header': 'Region' }),
        query: z.string().optional().describe('anything'),
      },
    },
    ({ region }) => text(`Region: ${region}`)
  )

  // `server-stateless` mutates the lists while a `subscriptions/listen` stream is open. Each call
  // adds the extra entry or takes it away again; the SDK sends the list-changed notification.
  let extraTool: RegisteredTool | undefined
  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Adds or removes the tool test_dynamic_tool (tools list_changed)' },
    () => {
      if (extraTool) {
        extraTool.remove()
        extraTool = undefined
        return text('test_dynamic_tool removed')
      }
      extraTool = server.registerTool(
        'test_dynamic_tool',
        { description: 'Added by test_trigger_tool_change' },
        () => text('dynamic')
      )
      return text('test_dynamic_tool added')
    }
  )
  let extraPrompt: RegisteredPrompt | undefined
  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Adds or removes the prompt test_dynamic_prompt (prompts list_changed)' },
    () => {
      if (extraPrompt) {
        extraPrompt.remove()
        extraPrompt = undefined
        return text('test_dynamic_prompt removed')
      }
      extraPrompt = server.registerPrompt(
        'test_dynamic_prompt',
        { description: 'Added by test_trigger_prompt_change' },
        () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'dynamic' } }] })
      )
      return text('test_dynamic_prompt added')
    }
  )
}

/** Requests to the client, each under the input key the bridge is to show it as. */
function asker(server: McpServer) {
  const keyed = (key: string) => ({ _meta: { [INPUT_KEY_META_KEY]: key } })
  return {
    async elicit(key: string, message: string, field: string): Promise<string | undefined> {
      const params: ElicitRequestFormParams = {
        ...keyed(key),
        message,
        requestedSchema: {
          type: 'object',
          properties: { [field]: { type: 'string' } },
          required: [field],
        },
      }
      const result = await server.server.elicitInput(params)
      const value = result.content?.[field]
      return result.action === 'accept' && value !== undefined ? String(value) : undefined
    },
    async confirm(key: string, message: string): Promise<boolean> {
      const result = await server.server.elicitInput({
        ...keyed(key),
        message,
        requestedSchema: {
          type: 'object',
          properties: { ok: { type: 'boolean' } },
          required: ['ok'],
        },
      })
      return result.action === 'accept' && result.content?.ok === true
    },
    async sample(key: string, prompt: string, maxTokens = 100): Promise<string> {
      const params: CreateMessageRequestParams = {
        ...keyed(key),
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens,
      }
      const result = await server.server.createMessage(params)
      const content = Array.isArray(result.content) ? result.content : [result.content]
      return content.map((item) => (item.type === 'text' ? item.text : `[${item.type}]`)).join('')
    },
    async roots(key: string): Promise<string[]> {
      // `roots/list` needs no capability check in the SDK: the bridge relays it for a client that
      // declares `roots` on the request, though it never tells children it has roots.
      const result = await server.server.listRoots(keyed(key))
      return result.roots.map((root) => root.uri)
    },
  }
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] }
}
