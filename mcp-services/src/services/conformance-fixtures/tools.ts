import { setTimeout as sleep } from 'node:timers/promises'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult, ElicitRequestFormParams } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { redPixelPng, silentWav } from './media.ts'

/**
 * The tools the conformance suite's server scenarios call, under the names and with the results
 * its scenario descriptions give (`tools-call-*`, `elicitation-sep1034-defaults`,
 * `elicitation-sep1330-enums`).
 */
export function registerFixtureTools(server: McpServer): void {
  const constant = (name: string, description: string, result: CallToolResult) =>
    server.registerTool(name, { description }, () => result)

  constant('test_simple_text', 'Returns one text content item', {
    content: [{ type: 'text', text: 'This is a simple text response for testing.' }],
  })
  constant('test_image_content', 'Returns a 1x1 red PNG as image content', {
    content: [{ type: 'image', data: redPixelPng, mimeType: 'image/png' }],
  })
  constant('test_audio_content', 'Returns a short silent WAV as audio content', {
    content: [{ type: 'audio', data: silentWav, mimeType: 'audio/wav' }],
  })
  constant('test_embedded_resource', 'Returns an embedded text resource', {
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  })
  constant('test_multiple_content_types', 'Returns text, image and resource content together', {
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: redPixelPng, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  })
  constant('test_error_handling', 'Always fails, as a tool error (isError) the model can read', {
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  })

  server.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three info log messages while it runs, 50 ms apart' },
    async (extra) => {
      const messages = [
        'Tool execution started',
        'Tool processing data',
        'Tool execution completed',
      ]
      for (const [index, data] of messages.entries()) {
        if (index > 0) await sleep(50)
        await server.sendLoggingMessage({ level: 'info', data }, extra.sessionId)
      }
      return text('Logging test completed')
    }
  )

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress 0, 50 and 100 of 100, 50 ms apart, when given a token' },
    async (extra) => {
      const progressToken = extra._meta?.progressToken
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await sleep(50)
        if (progressToken !== undefined)
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100 },
          })
      }
      return text('Progress test completed')
    }
  )

  // `server-sse-polling` (pending in the suite) calls this and expects the HTTP server to close
  // the call's SSE stream and replay the result once the client reconnects with Last-Event-ID.
  // Streams belong to the bridge, not to a stdio child: the tool only takes long enough for a
  // stream to be closed under it.
  server.registerTool(
    'test_reconnection',
    {
      description: 'Answers after 100 ms, long enough for its SSE stream to be closed and resumed',
    },
    async () => {
      await sleep(100)
      return text('Reconnection test completed')
    }
  )

  server.registerTool(
    'test_sampling',
    {
      description: 'Asks the client to sample an LLM with the given prompt',
      inputSchema: { prompt: z.string().describe('the prompt to send to the LLM') },
    },
    async ({ prompt }) => {
      if (!server.server.getClientCapabilities()?.sampling)
        return failure('The client does not support sampling')
      const answer = await server.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens: 100,
      })
      const content = Array.isArray(answer.content) ? answer.content : [answer.content]
      const reply = content.map((item) => (item.type === 'text' ? item.text : `[${item.type}]`))
      return text(`LLM response: ${reply.join('')}`)
    }
  )

  server.registerTool(
    'test_elicitation',
    {
      description: 'Asks the user, through the client, for a username and an e-mail address',
      inputSchema: { message: z.string().describe('the message to show the user') },
    },
    ({ message }) =>
      elicit(server, 'User response', {
        message,
        requestedSchema: {
          type: 'object',
          properties: {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" },
          },
          required: ['username', 'email'],
        },
      })
  )

  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Elicits a form whose fields of every primitive type have defaults (SEP-1034)' },
    () =>
      elicit(server, 'Elicitation completed', {
        message: 'Check these values (each has a default)',
        requestedSchema: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'Name', default: 'John Doe' },
            age: { type: 'integer', description: 'Age', default: 30 },
            score: { type: 'number', description: 'Score', default: 95.5 },
            status: {
              type: 'string',
              description: 'Status',
              enum: ['active', 'inactive', 'pending'],
              default: 'active',
            },
            verified: { type: 'boolean', description: 'Verified', default: true },
          },
          required: [],
        },
      })
  )

  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicits a form with each of the five enum field shapes (SEP-1330)' },
    () =>
      elicit(server, 'Elicitation completed', {
        message: 'Pick from each list',
        requestedSchema: {
          type: 'object',
          properties: {
            untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
            titledSingle: { type: 'string', oneOf: titled(['value1', 'value2', 'value3']) },
            legacyEnum: {
              type: 'string',
              enum: ['opt1', 'opt2', 'opt3'],
              enumNames: ['First (legacy)', 'Second (legacy)', 'Third (legacy)'],
            },
            untitledMulti: {
              type: 'array',
              items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
            },
            titledMulti: {
              type: 'array',
              items: { anyOf: titled(['value1', 'value2', 'value3']) },
            },
          },
        },
      })
  )

  // `json-schema-2020-12` (pending in the suite) looks for `$schema`, `$defs` and
  // `additionalProperties` in the listed input schema, and from 2026-07-28 for `allOf`/`anyOf`,
  // `if`/`then`/`else` and an `$anchor` in `$defs` (SEP-2106). The SDK renders zod as draft-07,
  // but copies zod metadata into its output: this schema declares 2020-12 that way and uses only
  // keywords that mean the same in both drafts (`$anchor`, unknown to draft-07, is ignored there).
  const address = { street: z.string().optional(), city: z.string().optional() }
  const addressJsonSchema = {
    $anchor: 'addressDef',
    type: 'object',
    properties: { street: { type: 'string' }, city: { type: 'string' } },
  }
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Takes a name and an address; its input schema is JSON Schema 2020-12',
      inputSchema: z
        .strictObject({
          name: z.string().optional(),
          address: z.object(address).optional().meta({ $ref: '#/$defs/address' }),
          contactMethod: z.enum(['phone', 'email']).optional(),
          phone: z.string().optional(),
          email: z.string().optional(),
        })
        .meta({
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          $defs: { address: addressJsonSchema },
          allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
          if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
          // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, never awaited
          then: { required: ['phone'] },
          else: { required: ['email'] },
        }),
    },
    (input) => text(`Received: ${JSON.stringify(input)}`)
  )
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] }
}

function failure(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] }
}

function titled(values: readonly string[]): { const: string; title: string }[] {
  return values.map((value, index) => ({ const: value, title: `Choice ${index + 1} (${value})` }))
}

/** Elicits a form; the SDK answers for a client without form elicitation with a tool error. */
async function elicit(
  server: McpServer,
  label: string,
  params: ElicitRequestFormParams
): Promise<CallToolResult> {
  const result = await server.server.elicitInput(params)
  return text(`${label}: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)
}
