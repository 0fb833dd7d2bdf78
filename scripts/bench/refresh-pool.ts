import { createHash, randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import type { Hono } from 'hono'
import type { AuthDeps } from '../../auth/src/deps.ts'
import { issueAuthorizationCode } from '../../auth/src/oauth/authorization-code.ts'
import type { FakeGitHub } from '../../tests/support/fake-github.ts'

const VERIFIER = 'bench-code-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG'
const REDIRECT_URI = 'http://127.0.0.1:9/callback'

/** Live refresh tokens of one registered client, one family per user, each refreshed once. */
export interface RefreshPool {
  readonly clientId: string
  readonly tokens: string[]
}

/**
 * Registers a public client, signs `users` users up at the fake GitHub (their GitHub tokens kept
 * as `/callback` keeps them), starts one family each through a code exchange, and refreshes each
 * once: the user is then checked at GitHub, and refreshes within USER_RECHECK_INTERVAL believe that
 * check, as in steady state. Everything through the app, so the stored format is the code's.
 */
export async function makeRefreshPool(
  app: Hono,
  deps: AuthDeps,
  github: FakeGitHub,
  issuer: string,
  users: number,
  /** Distinct for each pool made at the same fake GitHub. */
  firstUserId = 7000
): Promise<RefreshPool> {
  const registered = await app.request(`${issuer}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'bench',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    }),
  })
  const { client_id: clientId } = (await registered.json()) as { client_id: string }
  const tokens: string[] = []
  for (let i = 0; i < users; i++) {
    const subject = { id: String(firstUserId + i), login: `bench${firstUserId + i}` }
    github.addUser({ id: Number(subject.id), login: subject.login })
    await deps.upstream?.grants.save(
      subject.id,
      { accessToken: github.issueToken(subject.login).token },
      86_400
    )
    const code = await issueAuthorizationCode(
      deps.store,
      {
        clientId,
        redirectUri: REDIRECT_URI,
        codeChallenge: createHash('sha256').update(VERIFIER).digest('base64url'),
        scopes: ['mcp', 'offline_access'],
        resources: [`${issuer}/echo/mcp`],
        subject,
        familyId: randomUUID(),
      },
      600
    )
    const first = await postToken(app, issuer, {
      grant_type: 'authorization_code',
      code,
      code_verifier: VERIFIER,
      redirect_uri: REDIRECT_URI,
      client_id: clientId,
    })
    tokens.push(
      await refresh(app, issuer, clientId, first.refresh_token).then((r) => r.refresh_token)
    )
  }
  return { clientId, tokens }
}

export async function refresh(
  app: Hono,
  issuer: string,
  clientId: string,
  refreshToken: string
): Promise<{ refresh_token: string; access_token: string }> {
  return postToken(app, issuer, {
    grant_type: 'refresh_token',
    client_id: clientId,
    refresh_token: refreshToken,
  })
}

async function postToken(
  app: Hono,
  issuer: string,
  form: Record<string, string>
): Promise<{ refresh_token: string; access_token: string }> {
  const response = await app.request(`${issuer}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`/token answered ${response.status}: ${text}`)
  return JSON.parse(text) as { refresh_token: string; access_token: string }
}

/**
 * A wrk script rotating the pool: each thread takes its share, sends the oldest token, and puts
 * back the one each answer carries (so every family refreshes about every `tokens.length`th
 * request). `threads` must be wrk's `-t`.
 */
export async function writePoolScript(
  path: string,
  pool: RefreshPool,
  threads: number
): Promise<void> {
  await writeFile(
    path,
    `local counter = 0
local threads = ${threads}
headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end
local all = {${pool.tokens.map((token) => JSON.stringify(token)).join(',')}}
local queue, first, last = {}, 1, 0
function init(args)
  for i = thread_id, #all, threads do last = last + 1; queue[last] = all[i] end
end
function request()
  local token = queue[first] or "spent"
  queue[first] = nil
  if first <= last then first = first + 1 end
  return wrk.format("POST", "/token", headers,
    "grant_type=refresh_token&client_id=${pool.clientId}&refresh_token=" .. token)
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if status == 200 and token then last = last + 1; queue[last] = token end
end
`
  )
}
