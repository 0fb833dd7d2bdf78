import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { boundedLog } from '../bounded-log.ts'
import type { Identity } from '../identity.ts'
import { capturedLogs } from '../testing/captured-logs.ts'
import { PolicyGate } from './gate.ts'
import { parsePolicy, type ServicePolicy } from './policy-format.ts'

const policy = parsePolicy({
  services: {
    echo: {
      tools: {
        deploy: { scopes: ['deploy:write'] },
        whoami: { allow: { users: [1] } },
      },
    },
  },
}).services.echo as ServicePolicy

const gate = (resource?: string) => {
  const logger = pino({ level: 'silent' })
  return new PolicyGate({
    policy,
    serviceScopes: ['mcp'],
    directory: undefined,
    resource,
    logger,
    refusals: boundedLog(logger, { perSecond: 0, now: () => 0 }),
    now: () => 0,
  })
}

const identity = (userId: string, scopes: string): Identity => ({
  userId,
  userName: '',
  userEmail: '',
  clientId: '',
  scopes,
})

const call = (name: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } })

describe('PolicyGate', () => {
  it('logs a refused call with the first 128 characters of its name, counting by kind', async () => {
    const { logger, lines } = capturedLogs()
    let time = 0
    const denying = new PolicyGate({
      policy: { ...policy, unlistedTools: 'deny' },
      serviceScopes: ['mcp'],
      directory: undefined,
      resource: undefined,
      logger,
      refusals: boundedLog(logger, { perSecond: 1, now: () => time }),
      now: () => time,
    })
    const caller = identity('2', 'mcp')
    const subject = await denying.subject(caller)
    for (const name of ['x'.repeat(10_000), 'y'.repeat(10_000), 'z'.repeat(10_000)]) {
      expect(denying.decide(call(name), subject, caller).kind).toBe('refused')
    }
    time += 1000
    denying.decide(call('short'), subject, caller)
    expect(lines.find((line) => line.event === 'policy_denied')).toMatchObject({
      tool: `${'x'.repeat(128)}…`,
      tool_length: 10_000,
      reason: 'tool_refused',
    })
    expect(lines.find((line) => line.event === 'policy_denied_suppressed')).toMatchObject({
      suppressed: 2,
      reasons: { tool_refused: 2 },
    })
    expect(JSON.stringify(lines).length).toBeLessThan(2_000)
  })

  it('names the metadata of the resource the client used, behind a proxy too', async () => {
    const asked = identity('2', 'mcp offline_access')
    const decision = gate().decide(call('deploy'), await gate().subject(asked), asked)
    if (decision.kind !== 'step-up') throw new Error(`expected step-up, got ${decision.kind}`)
    const proxied = new Request('http://10.0.0.5:3000/mcp', {
      method: 'POST',
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'echo.example.com' },
    })
    const challenge = gate().stepUp(proxied, asked, decision, 1).headers.get('www-authenticate')
    expect(challenge).toContain(
      'resource_metadata="https://echo.example.com/.well-known/oauth-protected-resource/mcp"'
    )
    expect(challenge).toContain('scope="mcp deploy:write"')
    const configured = gate('http://localhost:8080/echo/mcp').stepUp(proxied, asked, decision, 1)
    expect(configured.headers.get('www-authenticate')).toContain(
      'resource_metadata="http://localhost:8080/.well-known/oauth-protected-resource/echo/mcp"'
    )
  })

  it('filters only the answers of the tools/list requests it was told about', async () => {
    const policed = gate()
    const session = {}
    const subject = await policed.subject(identity('2', 'mcp'))
    const tools = { tools: [{ name: 'echo' }, { name: 'whoami' }, { name: 'deploy' }] }
    policed.expectToolsList(session, [7], subject)
    // A request of the server's own with the same id is not the answer.
    const request = { jsonrpc: '2.0', id: 7, method: 'roots/list' }
    expect(policed.answer(session, request)).toBe(request)
    const other = { jsonrpc: '2.0', id: 8, result: tools }
    expect(policed.answer(session, other)).toBe(other)
    expect(policed.answer(session, { jsonrpc: '2.0', id: 7, result: tools })).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: { tools: [{ name: 'echo' }, { name: 'deploy' }] },
    })
    // Once answered, the id is forgotten.
    const again = { jsonrpc: '2.0', id: 7, result: tools }
    expect(policed.answer(session, again)).toBe(again)
  })

  it('leaves every message but tools/call alone', async () => {
    const asked = identity('2', '')
    const subject = await gate().subject(asked)
    for (const message of [
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      [call('whoami')],
      null,
    ]) {
      expect(gate().decide(message, subject, asked)).toEqual({ kind: 'allowed' })
    }
    expect(gate().decide(call('whoami'), subject, asked).kind).toBe('refused')
  })
})
