/**
 * A stdio "MCP server" that reads every message and answers none, not even `initialize`: a
 * server stuck at start (a lock, a network call that never returns). Its pid is on stderr.
 */
process.stderr.write(`silent-server pid ${process.pid}\n`)
process.stdin.resume()
