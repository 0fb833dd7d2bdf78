import { Agent, request } from 'node:http'

/** A response as the flood and proxy tests need it. */
export interface PlainResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string
}

/**
 * HTTP from a chosen loopback source address (127.0.0.2, 127.0.0.3, …: all of 127/8 is the
 * loopback interface), so one machine can play several callers. Connections are kept alive per
 * source address, as a real client would.
 */
export function httpClientFrom(localAddress: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  return {
    send(url: string, options: RequestOptions = {}): Promise<PlainResponse> {
      return new Promise((resolve, reject) => {
        const outgoing = request(
          url,
          {
            method: options.method ?? 'GET',
            headers: options.headers ?? {},
            localAddress,
            agent,
          },
          (incoming) => {
            const chunks: Buffer[] = []
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
            incoming.on('end', () =>
              resolve({
                status: incoming.statusCode ?? 0,
                headers: incoming.headers,
                body: Buffer.concat(chunks).toString('utf8'),
              })
            )
            incoming.on('error', reject)
          }
        )
        outgoing.on('error', reject)
        outgoing.end(options.body)
      })
    },
    close: () => agent.destroy(),
  }
}
