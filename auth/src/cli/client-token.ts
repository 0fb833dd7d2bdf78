import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'

/**
 * `npm run client-token -- --issuer https://auth.example.com [--resource URL]`: gets an access
 * token for a CLI or script through the device flow (RFC 8628). It registers a public client,
 * prints the code and the address to open in any browser, waits while you approve, then prints
 * the token response as JSON on standard output (everything else goes to standard error).
 */
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

const { values } = parseArgs({
  options: {
    issuer: { type: 'string', default: 'http://localhost:8080' },
    resource: { type: 'string', multiple: true, default: [] },
    name: { type: 'string', default: 'mcp-client-token' },
  },
})
const issuer = String(values.issuer).replace(/\/+$/, '')
const say = (line: string) => process.stderr.write(`${line}\n`)

async function post(url: string, body: URLSearchParams | object) {
  const form = body instanceof URLSearchParams
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? body.toString() : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function main(): Promise<number> {
  const metadata = (await (
    await fetch(`${issuer}/.well-known/oauth-authorization-server`)
  ).json()) as Record<string, string>
  const registration = await post(metadata.registration_endpoint ?? `${issuer}/register`, {
    client_name: values.name,
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    token_endpoint_auth_method: 'none',
  })
  const clientId = registration.body.client_id
  if (registration.status !== 201 || typeof clientId !== 'string') {
    say(`registration failed: ${JSON.stringify(registration.body)}`)
    return 1
  }
  const request = new URLSearchParams({ client_id: clientId })
  for (const resource of values.resource ?? []) request.append('resource', resource)
  const device = await post(
    metadata.device_authorization_endpoint ?? `${issuer}/device_authorization`,
    request
  )
  if (device.status !== 200) {
    say(`device authorization failed: ${JSON.stringify(device.body)}`)
    return 1
  }
  say(`Open ${device.body.verification_uri} and enter the code ${device.body.user_code}`)
  say(`(or open ${device.body.verification_uri_complete})`)

  let interval = Number(device.body.interval ?? 5)
  const deadline = Date.now() + Number(device.body.expires_in ?? 600) * 1000
  while (Date.now() < deadline) {
    await sleep(interval * 1000)
    const token = await post(
      metadata.token_endpoint ?? `${issuer}/token`,
      new URLSearchParams({
        grant_type: DEVICE_GRANT,
        device_code: String(device.body.device_code),
        client_id: clientId,
      })
    )
    if (token.status === 200) {
      process.stdout.write(`${JSON.stringify({ ...token.body, client_id: clientId }, null, 2)}\n`)
      return 0
    }
    if (token.body.error === 'slow_down') interval += 5
    else if (token.body.error !== 'authorization_pending') {
      say(`refused: ${token.body.error}: ${token.body.error_description ?? ''}`)
      return 1
    }
  }
  say('the code expired before it was approved')
  return 1
}

process.exitCode = await main()
