import { Hono } from 'hono'
import type { UserDirectory } from '../../../mcp-services/src/user-directory.ts'
import { NotFound } from '../errors.ts'

/** `GET /internal/users/{userId}`: the user as last checked at GitHub (docs/internal-api.md). */
export const internalUserRoute = (users: UserDirectory) =>
  new Hono().get('/internal/users/:userId', async (c) => {
    const user = await users.user(c.req.param('userId'))
    if (!user) throw new NotFound('the gateway keeps no live grant for this user')
    return c.json(user, 200, { 'Cache-Control': 'no-store' })
  })
