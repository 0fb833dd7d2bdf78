// The wrk script of the token bench's code exchanges, in Lua (refresh pools: `refresh-pool.ts`).

/** A wrk script sending each body once, split between the threads; then invalid ones (counted). */
export function listScript(bodies: readonly string[]): string {
  return `${LUA_COMMON}
local bodies = {${bodies.map((body) => JSON.stringify(body)).join(',\n')}}
local next_index
function init(args) next_index = thread_id end
function request()
  local body = bodies[next_index] or "grant_type=authorization_code&code=spent"
  next_index = next_index + threads
  return wrk.format("POST", nil, headers, body)
end
`
}

const LUA_COMMON = `
local counter = 0
local threads = 2
headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end
`
