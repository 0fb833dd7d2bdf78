import { connect } from 'node:net'

/** What a server answered on a raw connection, and when it closed it. */
export interface RawExchange {
  /** Everything the server wrote before it closed the connection. */
  readonly received: string
  /** Milliseconds from the first byte sent to the close. */
  readonly closedAfterMs: number
}

/**
 * Opens a TCP connection, writes `bytes` as they are (a request cut short, headers without their
 * end), and waits for the server to close it: what a misbehaving client sees. Gives up after
 * `giveUpMs`, so a server that never closes fails the test instead of hanging it.
 */
export function sendRaw(port: number, bytes: string, giveUpMs = 10_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const started = performance.now()
    let received = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the connection open for ${giveUpMs} ms`))
    }, giveUpMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ received, closedAfterMs: performance.now() - started })
    })
    socket.write(bytes)
  })
}
