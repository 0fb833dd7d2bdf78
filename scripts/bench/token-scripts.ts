// The wrk scripts of the token bench: request bodies and refresh-token pools, in Lua.

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

/**
 * A wrk script rotating a pool of refresh tokens: each thread takes its half of the pool, sends
 * the oldest, and puts back the token each answer carries.
 */
export function poolScript(tokens: readonly string[], clientId: string): string {
  return `${LUA_COMMON}
local all = {${tokens.map((token) => JSON.stringify(token)).join(',')}}
local pool, first, last = {}, 1, 0
function init(args)
  for i = thread_id, #all, threads do last = last + 1; pool[last] = all[i] end
end
function request()
  local token = pool[first] or "spent"
  pool[first] = nil
  if first <= last then first = first + 1 end
  return wrk.format("POST", nil, headers,
    "grant_type=refresh_token&client_id=${clientId}&refresh_token=" .. token)
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if status == 200 and token then last = last + 1; pool[last] = token end
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
