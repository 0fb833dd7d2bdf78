import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { redPixelPng } from './media.ts'

/**
 * The resources the conformance suite reads and subscribes to (`resources-*` scenarios):
 * two static ones, a template whose variable shows up in what it returns, and one to watch.
 */
export function registerFixtureResources(server: McpServer): void {
  const staticText = 'test://static-text'
  server.registerResource(
    'static-text',
    staticText,
    { description: 'A fixed text resource', mimeType: 'text/plain' },
    () => ({
      contents: [
        {
          uri: staticText,
          mimeType: 'text/plain',
          text: 'This is the content of the static text resource.',
        },
      ],
    })
  )

  const staticBinary = 'test://static-binary'
  server.registerResource(
    'static-binary',
    staticBinary,
    { description: 'A fixed binary resource: a 1x1 red PNG', mimeType: 'image/png' },
    () => ({ contents: [{ uri: staticBinary, mimeType: 'image/png', blob: redPixelPng }] })
  )

  const watched = 'test://watched-resource'
  server.registerResource(
    'watched-resource',
    watched,
    { description: 'A resource to subscribe to (it never changes)', mimeType: 'text/plain' },
    () => ({ contents: [{ uri: watched, mimeType: 'text/plain', text: 'Watched resource.' }] })
  )

  server.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'Data for the given id', mimeType: 'application/json' },
    (uri, { id }) => {
      const value = Array.isArray(id) ? id.join(',') : String(id)
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id: value, templateTest: true, data: `Data for ID: ${value}` }),
          },
        ],
      }
    }
  )

  // The high-level server has no subscription handlers. Nothing here ever changes, so a
  // subscription never leads to an update; it is accepted for the resources that exist.
  const subscribable = new Set([staticText, staticBinary, watched])
  const acceptSubscription = ({ params }: { params: { uri: string } }) => {
    if (!subscribable.has(params.uri))
      throw new McpError(ErrorCode.InvalidParams, 'Resource not found', { uri: params.uri })
    return {}
  }
  server.server.registerCapabilities({ resources: { subscribe: true } })
  server.server.setRequestHandler(SubscribeRequestSchema, acceptSubscription)
  server.server.setRequestHandler(UnsubscribeRequestSchema, acceptSubscription)
}
