import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { allowedMethods } from './allowed-methods.ts'

describe('allowedMethods', () => {
  const app = new Hono()
    .use('/token', async (_c, next) => next())
    .post('/token', (c) => c.text('token'))
    .get('/register/:client_id', (c) => c.text('read'))
    .put('/register/:client_id', (c) => c.text('replace'))
    .get('/.well-known/oauth-protected-resource/*', (c) => c.text('metadata'))
  const allowed = allowedMethods(app)

  it('lists the methods of the routes matching a path, HEAD with GET', () => {
    expect(allowed('/token')).toEqual(['POST'])
    expect(allowed('/register/abc')).toEqual(['GET', 'HEAD', 'PUT'])
    expect(allowed('/.well-known/oauth-protected-resource/echo/mcp')).toEqual(['GET', 'HEAD'])
  })

  it('knows routes mounted after it was made (the standalone services)', () => {
    const later = new Hono().get('/first', (c) => c.text('first'))
    const allowedLater = allowedMethods(later)
    later.route(
      '/echo',
      new Hono().on(['GET', 'POST', 'DELETE'], '/mcp', (c) => c.text('mcp'))
    )
    expect(allowedLater('/echo/mcp')).toEqual(['DELETE', 'GET', 'HEAD', 'POST'])
  })

  it('lists nothing for a path no route has, middleware aside', () => {
    expect(allowed('/register')).toEqual([])
    expect(allowed('/register/abc/def')).toEqual([])
    expect(allowed('/tokens')).toEqual([])
    expect(allowed('/.well-known/oauth-protected-resourceX')).toEqual([])
  })
})
