import { createServer } from 'node:net'

/**
 * Below Linux's ephemeral range (32768–60999): the kernel hands those to every `listen(0)` and
 * outgoing connection, so a port found there and bound a moment later by a child process can be
 * taken in between by another test's server. Ports here are only ever chosen by this function.
 */
const FIRST = 20_000
const COUNT = 12_000

/**
 * A free loopback TCP port for a process that needs one given (servers such as redis-server treat
 * port 0 as "no TCP"): a random one below the ephemeral range that could be bound just now.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = FIRST + Math.floor(Math.random() * COUNT)
    if (await canListen(port)) return port
  }
  throw new Error('could not find a free port')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
