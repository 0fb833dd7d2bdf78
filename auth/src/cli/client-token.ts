import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, loadIssuer } from '../config.ts'
import { parseCommandLine, UsageError } from './cli-context.ts'

/**
 * `npm run client-token -- [--issuer https://auth.example.com] [--resource URL]`: gets an access
 * token for a CLI or script through the device flow (RFC 8628). It registers a public client,
 * prints the code and the address to open in any browser, waits while you approve, then prints
 * the token response as JSON on standard output (everything else goes to standard error). The
 * issuer defaults to the one the gateway announces with the same environment (AUTH_ISSUER, else
 * https://auth.$BASE_DOMAIN, else http://localhost:$PORT). A failure is one line on standard
 * error naming the address and why, exit 1 (2: the command line or environment is wrong).
 */
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const USAGE = 'usage: npm run client-token -- [--issuer URL] [--resource URL]… [--name NAME]'

/** A step of the flow that failed; the message names the address and why, on one line. */
class FlowFailure extends Error {
  override readonly name = 'FlowFailure'
}

interface Answer {
  readonly status: number
  readonly body: Record<string, unknown>
}

const say = (line: string) => process.stderr.write(`${line}\n`)

/** The JSON object `url` answers with, whatever its status. */
async function exchange(url: string, init?: RequestInit): Promise<Answer> {
  let response: Response
  let text: string
  try {
    response = await fetch(url, init)
    text = await response.text()
  } catch (error) {
    throw new FlowFailure(`${url}: not reachable (${networkCause(error)})`)
  }
  const body = jsonObject(text)
  if (!body) {
    const type = response.headers.get('content-type') ?? 'no content type'
    throw new FlowFailure(`${url}: HTTP ${response.status}, not JSON (${type})`)
  }
  return { status: response.status, body }
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** fetch says only `fetch failed`; why (ECONNREFUSED, ENOTFOUND, a certificate) is its cause. */
function networkCause(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  const fault = cause instanceof Error ? cause : error
  if (!(fault instanceof Error)) return String(fault)
  return 'code' in fault && typeof fault.code === 'string' ? fault.code : fault.message
}

function post(url: string, body: URLSearchParams | object): Promise<Answer> {
  const form = body instanceof URLSearchParams
  return exchange(url, {
    method: 'POST',
    headers: { 'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? body.toString() : JSON.stringify(body),
  })
}

/** An answer other than the one expected: its OAuth error (RFC 6749 §5.2), or its status alone. */
function refused(url: string, answer: Answer): FlowFailure {
  const { error, error_description: description } = answer.body
  const reason =
    typeof error === 'string'
      ? `: ${error}${typeof description === 'string' ? `: ${description}` : ''}`
      : ''
  return new FlowFailure(`${url}: HTTP ${answer.status}${reason}`)
}

/** An endpoint the metadata names, else the issuer's own path for it. */
function endpoint(metadata: Record<string, unknown>, name: string, fallback: string): string {
  const url = metadata[name]
  return typeof url === 'string' ? url : fallback
}

async function getToken(issuer: string, name: string, resources: readonly string[]) {
  const metadataUrl = `${issuer}/.well-known/oauth-authorization-server`
  const metadata = await exchange(metadataUrl)
  if (metadata.status !== 200) throw refused(metadataUrl, metadata)
  const registrationUrl = endpoint(metadata.body, 'registration_endpoint', `${issuer}/register`)
  const registration = await post(registrationUrl, {
    client_name: name,
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    token_endpoint_auth_method: 'none',
  })
  const clientId = registration.body.client_id
  if (registration.status !== 201 || typeof clientId !== 'string') {
    throw refused(registrationUrl, registration)
  }
  const request = new URLSearchParams({ client_id: clientId })
  for (const resource of resources) request.append('resource', resource)
  const deviceUrl = endpoint(
    metadata.body,
    'device_authorization_endpoint',
    `${issuer}/device_authorization`
  )
  const device = await post(deviceUrl, request)
  if (device.status !== 200) throw refused(deviceUrl, device)
  say(`Open ${device.body.verification_uri} and enter the code ${device.body.user_code}`)
  say(`(or open ${device.body.verification_uri_complete})`)

  const tokenUrl = endpoint(metadata.body, 'token_endpoint', `${issuer}/token`)
  let interval = Number(device.body.interval ?? 5)
  const deadline = Date.now() + Number(device.body.expires_in ?? 600) * 1000
  while (Date.now() < deadline) {
    await sleep(interval * 1000)
    const token = await post(
      tokenUrl,
      new URLSearchParams({
        grant_type: DEVICE_GRANT,
        device_code: String(device.body.device_code),
        client_id: clientId,
      })
    )
    if (token.status === 200) return { ...token.body, client_id: clientId }
    if (token.body.error === 'slow_down') interval += 5
    else if (token.body.error !== 'authorization_pending') throw refused(tokenUrl, token)
  }
  throw new FlowFailure('the code expired before it was approved')
}

async function main(args: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(
      args,
      {
        issuer: { type: 'string' },
        resource: { type: 'string', multiple: true, default: [] },
        name: { type: 'string', default: 'mcp-client-token' },
      },
      USAGE
    )
    if (positionals.length > 0) throw new UsageError(`unexpected ${positionals[0]}\n${USAGE}`)
    const issuer = (values.issuer ?? loadIssuer(process.env)).replace(/\/+$/, '')
    if (!URL.canParse(issuer)) throw new UsageError(`--issuer: not a URL: ${issuer}\n${USAGE}`)
    const tokens = await getToken(issuer, values.name, values.resource)
    process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`)
    return 0
  } catch (error) {
    const told = error instanceof UsageError || error instanceof ConfigError
    if (!(told || error instanceof FlowFailure)) throw error
    say(error.message)
    return told ? 2 : 1
  }
}

process.exitCode = await main(process.argv.slice(2))
