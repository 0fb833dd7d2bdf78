/**
 * A stdio "MCP server" that outlives the end of its stdin (a timer keeps it running): only a
 * signal ends it, as a server stuck in a call would need.
 */
process.stdin.resume()
setInterval(() => {}, 60_000)
