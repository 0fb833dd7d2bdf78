import type { Cluster, Redis } from 'ioredis'
import type { WriteOperation } from './store.ts'

/**
 * The store's scripts, sent by hash (`EVALSHA`, the body only after a `NOSCRIPT`). Unlike
 * `MULTI`…`EXEC`, a script is one command: it joins the other commands of its event-loop turn in
 * one write (auto-pipelining), and Redis runs it atomically all the same. Every key a script
 * touches is passed in `KEYS`, so on a Cluster the hash-tagged prefix keeps them in one slot.
 */

/**
 * Declared (Redis 7): under `maxmemory` a declared script that may write is refused before it
 * runs, so a refused script changed nothing. (An undeclared one is let through.)
 */
const SHEBANG = '#!lua\n'

/** Applies KEYS[first..] their write, three ARGV per key (operation, value or member, TTL). */
const APPLY_WRITES = `local function apply(first)
  for i = first, #KEYS do
    local a = (i - first) * 3
    local op, value, ttl = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
    if op == 'put' and ttl > 0 then redis.call('SET', KEYS[i], value, 'EX', ttl)
    elseif op == 'put' and ttl < 0 then redis.call('SET', KEYS[i], value, 'KEEPTTL')
    elseif op == 'put' then redis.call('SET', KEYS[i], value)
    elseif op == 'delete' then redis.call('DEL', KEYS[i])
    elseif op == 'addToSet' then
      redis.call('SADD', KEYS[i], value)
      -- NX gives a new set (or one from before set TTLs) its lifetime, GT only ever lengthens it.
      if ttl > 0 then
        redis.call('EXPIRE', KEYS[i], ttl, 'NX')
        redis.call('EXPIRE', KEYS[i], ttl, 'GT')
      elseif ttl == 0 then redis.call('PERSIST', KEYS[i])
      end
    elseif op == 'removeFromSet' then redis.call('SREM', KEYS[i], value)
    end
  end
end
`

const SCRIPTS = {
  /** `batch`: every write, or none. */
  gatewayWriteAll: `${SHEBANG}${APPLY_WRITES}
apply(1)
return 1
`,
  /** `batch` with a guard: every write unless KEYS[1] exists (then 0, and none). */
  gatewayWriteAllUnless: `${SHEBANG}${APPLY_WRITES}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
apply(2)
return 1
`,
  /**
   * `batch` with a compare-and-set guard: every write if KEYS[1] still holds the last ARGV (then
   * 1), else none (0). A missing KEYS[1] (GET gives false) never equals it.
   */
  gatewayWriteAllIfUnchanged: `${SHEBANG}${APPLY_WRITES}
if redis.call('GET', KEYS[1]) ~= ARGV[#ARGV] then return 0 end
apply(2)
return 1
`,
  /**
   * `batch` of deletions only, `allow-oom`: a full Redis runs it, since it only frees memory (as
   * it runs a lone DEL or SREM), so room can be made and revocations finish. Anything but a
   * removal is an error before any change.
   */
  gatewayRemoveAll: `#!lua flags=allow-oom
for i = 1, #KEYS do
  local op = ARGV[(i - 1) * 3 + 1]
  if op ~= 'delete' and op ~= 'removeFromSet' then
    return redis.error_reply('gatewayRemoveAll: ' .. tostring(op) .. ' is not a removal')
  end
end
for i = 1, #KEYS do
  local a = (i - 1) * 3
  if ARGV[a + 1] == 'delete' then redis.call('DEL', KEYS[i])
  else redis.call('SREM', KEYS[i], ARGV[a + 2]) end
end
return 1
`,
  /**
   * `takeAndWrite`: KEYS[1] is taken, KEYS[2..] are written, or nothing happens when KEYS[1] is
   * gone.
   */
  gatewayTakeAndWrite: `${SHEBANG}${APPLY_WRITES}
local taken = redis.call('GET', KEYS[1])
if not taken then return false end
apply(2)
redis.call('DEL', KEYS[1])
return taken
`,
  /**
   * `markAndTake`: KEYS[1] is taken; each of KEYS[2..] (markers) is set to ARGV[2i-1] for ARGV[2i]
   * seconds unless it exists. Answers what was taken, then 1 or 0 for each marker written or not.
   * `allow-oom`: a full Redis runs it. A revocation refused for want of room would leave a leaked
   * token working until it expires; its markers are a few dozen bytes each, written only for
   * tokens that exist, and the value taken frees more than that.
   */
  gatewayMarkAndTake: `#!lua flags=allow-oom
local answer = { false }
for i = 2, #KEYS do
  local a = (i - 2) * 2
  local marked = redis.call('SET', KEYS[i], ARGV[a + 1], 'NX', 'EX', ARGV[a + 2])
  answer[i] = marked and 1 or 0
end
local taken = redis.call('GET', KEYS[1])
if taken then
  redis.call('DEL', KEYS[1])
  answer[1] = taken
end
return answer
`,
  /**
   * `pace`: ARGV now (ms), first interval, backoff (s), TTL. The state is read and written in
   * one step, so concurrent requests see each other. An unreadable state counts as none.
   * `%d` keeps every digit of a millisecond time (cjson would shorten it to 14).
   */
  gatewayPace: `${SHEBANG}local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local tooSoon = false
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, previous = pcall(cjson.decode, raw)
  if ok and type(previous) == 'table' and tonumber(previous.at) and tonumber(previous.interval) then
    interval = tonumber(previous.interval)
    tooSoon = now - tonumber(previous.at) < interval * 1000
  end
end
if tooSoon then interval = interval + tonumber(ARGV[3]) end
redis.call('SET', KEYS[1], string.format('{"at":%d,"interval":%d}', now, interval), 'EX', ARGV[4])
if tooSoon then return 1 end
return 0
`,
  /** `appendToStream`: each of ARGV[2..], in order, to the stream KEYS[1] capped near ARGV[1]. */
  gatewayAppendAll: `${SHEBANG}for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'entry', ARGV[i])
end
return #ARGV - 1
`,
  /** `increment` by ARGV[2]: a counter that starts its window (ARGV[1]) on its first increment. */
  gatewayIncrement: `${SHEBANG}local count = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return count
`,
} as const

type ScriptName = keyof typeof SCRIPTS
type Scripted = Record<
  ScriptName,
  (numberOfKeys: number, ...args: (string | number)[]) => Promise<unknown>
>

/** The connection with the store's scripts as commands. */
export function withScripts(connection: Redis | Cluster): Scripted {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (!(name in connection)) connection.defineCommand(name, { lua })
  }
  return connection as unknown as Scripted
}

/** A write as a script's KEYS entry and its three ARGV. */
export function scriptArguments(
  operations: readonly WriteOperation[],
  k: (key: string) => string
): { keys: string[]; args: (string | number)[] } {
  return {
    keys: operations.map((operation) => k(operation.key)),
    args: operations.flatMap((operation) => operationArguments(operation)),
  }
}

function operationArguments(operation: WriteOperation): [string, string, number] {
  switch (operation.op) {
    case 'put':
      // -1: the key keeps its lifetime.
      return ['put', operation.value, operation.keepTtl ? -1 : (operation.ttlSeconds ?? 0)]
    case 'delete':
      return ['delete', '', 0]
    case 'addToSet':
      // -1: the set's TTL is left alone.
      return ['addToSet', operation.member, operation.ttlSeconds ?? -1]
    case 'removeFromSet':
      return ['removeFromSet', operation.member, 0]
  }
}
