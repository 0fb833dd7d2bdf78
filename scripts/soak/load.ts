import { Agent, request } from 'undici'
import type { Family } from './families.ts'

/** One request of the mix, answered as expected or not. */
export type Operation = 'verify' | 'refresh' | 'register' | 'revoke' | 'delete'

export interface Outcome {
  readonly operation: Operation
  /** Undefined when the answer was the expected one; else what came back. */
  readonly error?: string
}

/**
 * The soak's traffic: 95% `/verify` with a live access token (as the proxy asks for every MCP
 * request), 4% refreshes (each family's live token, one request per family at a time, the
 * answer's token kept: rotation as real clients do it), 1% registrations, revocations and client
 * deletions in turn.
 */
export class Mix {
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 })
  private readonly idle: Family[]
  private readonly verifyTokens: string[]
  /** Access tokens from refreshes: revoked by the churn, never used for `/verify`. */
  private readonly spare: string[] = []
  private readonly registered: { clientId: string; token: string }[] = []
  private churn = 0
  private counter = 0

  private readonly issuer: string
  /** The families' client, which revokes their spare access tokens. */
  private readonly clientId: string

  constructor(issuer: string, families: Family[]) {
    this.issuer = issuer
    this.clientId = families[0]?.clientId ?? ''
    this.idle = [...families]
    this.verifyTokens = families.map((family) => family.accessToken)
  }

  /** The next request of the mix; resolves when it is answered. */
  next(): Promise<Outcome> {
    const slot = this.counter++ % 100
    if (slot < 95) return this.verify()
    if (slot < 99) return this.idle.length > 0 ? this.refresh() : this.verify()
    const operations = ['register', 'revoke', 'delete'] as const
    return this.churnOperation(operations[this.churn++ % operations.length] ?? 'register')
  }

  close(): Promise<void> {
    return this.agent.close()
  }

  private async send(
    operation: Operation,
    expected: number,
    path: string,
    options: { method?: 'GET' | 'POST' | 'DELETE'; headers?: Record<string, string>; body?: string }
  ): Promise<{ outcome: Outcome; body: string }> {
    try {
      const response = await request(`${this.issuer}${path}`, {
        dispatcher: this.agent,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: options.body }),
      })
      const body = await response.body.text()
      if (response.statusCode === expected) return { outcome: { operation }, body }
      return {
        outcome: { operation, error: `${operation} ${response.statusCode} ${body.slice(0, 120)}` },
        body,
      }
    } catch (error) {
      return { outcome: { operation, error: `${operation} ${(error as Error).message}` }, body: '' }
    }
  }

  private async verify(): Promise<Outcome> {
    const token = this.verifyTokens[this.counter % this.verifyTokens.length] ?? ''
    const { outcome } = await this.send('verify', 200, '/verify', {
      headers: {
        authorization: `Bearer ${token}`,
        'x-forwarded-proto': 'http',
        'x-forwarded-host': new URL(this.issuer).host,
        'x-forwarded-uri': '/echo/mcp',
        'x-forwarded-method': 'POST',
      },
    })
    return outcome
  }

  private async refresh(): Promise<Outcome> {
    const family = this.idle.shift() as Family
    const { outcome, body } = await this.send('refresh', 200, '/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: family.clientId,
        refresh_token: family.refreshToken,
      }).toString(),
    })
    if (!outcome.error) {
      const tokens = JSON.parse(body) as { access_token: string; refresh_token: string }
      family.refreshToken = tokens.refresh_token
      if (this.spare.length < 1_000) this.spare.push(tokens.access_token)
    }
    // A family whose refresh failed stays out: its token may be spent.
    if (!outcome.error) this.idle.push(family)
    return outcome
  }

  private async churnOperation(operation: 'register' | 'revoke' | 'delete'): Promise<Outcome> {
    if (operation === 'register' || (operation === 'delete' && this.registered.length === 0)) {
      try {
        const response = await request(`${this.issuer}/register`, {
          dispatcher: this.agent,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            client_name: 'soak churn',
            redirect_uris: ['https://client.example.com/callback'],
          }),
        })
        const text = await response.body.text()
        if (response.statusCode !== 201)
          return { operation: 'register', error: `register ${response.statusCode} ${text}` }
        const client = JSON.parse(text) as { client_id: string; registration_access_token: string }
        this.registered.push({
          clientId: client.client_id,
          token: client.registration_access_token,
        })
        return { operation: 'register' }
      } catch (error) {
        return { operation: 'register', error: `register ${(error as Error).message}` }
      }
    }
    if (operation === 'revoke') {
      const token = this.spare.shift() ?? 'not-a-token'
      const { outcome } = await this.send('revoke', 200, '/revoke', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: this.clientId }).toString(),
      })
      return outcome
    }
    const client = this.registered.shift() as { clientId: string; token: string }
    const { outcome } = await this.send('delete', 204, `/register/${client.clientId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${client.token}` },
    })
    return outcome
  }
}
