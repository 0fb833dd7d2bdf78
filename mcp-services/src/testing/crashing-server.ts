/**
 * A stdio "MCP server" that exits as soon as it starts, before reading anything: a server whose
 * configuration or dependency is broken, which every new start meets again.
 */
process.exit(1)
