import { completable } from '@modelcontextprotocol/sdk/server/completable.js'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { redPixelPng } from './media.ts'

/** Values `arg1` of `test_prompt_with_arguments` completes to (`completion-complete`). */
const arg1Suggestions = ['test', 'testValue1', 'testValue2', 'hello']

/** The prompts the conformance suite gets (`prompts-*` scenarios) and completes. */
export function registerFixturePrompts(server: McpServer): void {
  server.registerPrompt(
    'test_simple_prompt',
    { description: 'A prompt without arguments' },
    () => ({
      messages: [
        { role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } },
      ],
    })
  )

  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt that puts its two arguments into its text',
      argsSchema: {
        arg1: completable(z.string().describe('First test argument'), (value) =>
          arg1Suggestions.filter((suggestion) => suggestion.startsWith(value))
        ),
        arg2: z.string().describe('Second test argument'),
      },
    },
    ({ arg1, arg2 }) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    })
  )

  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds a text resource under the given URI',
      argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
    },
    ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        {
          role: 'user',
          content: { type: 'text', text: 'Please process the embedded resource above.' },
        },
      ],
    })
  )

  server.registerPrompt(
    'test_prompt_with_image',
    { description: 'A prompt with an image (a 1x1 red PNG)' },
    () => ({
      messages: [
        { role: 'user', content: { type: 'image', data: redPixelPng, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
      ],
    })
  )
}
