# A stdio MCP server reduced to what an idle session needs of its child: it answers `initialize`
# (numeric ids) and ignores every other line. One `sed` process of about a megabyte, so the
# idle-sessions benchmark can hold 1,000 sessions open; a Node child costs 40 MB or more each.
exec sed -u -n '/"method":"initialize"/{
s/.*"id":\([0-9][0-9]*\).*/{"jsonrpc":"2.0","id":\1,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"stand-in","version":"0"}}}/p
}'
