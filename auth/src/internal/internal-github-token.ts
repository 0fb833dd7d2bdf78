import { Hono } from 'hono'
import type { UserDirectory } from '../../../mcp-services/src/user-directory.ts'
import { NotFound } from '../errors.ts'

/**
 * `GET /internal/users/{userId}/github-token`: the user's own GitHub token, renewed first when
 * it expires soon, for a bridge acting as the user. Neither the token nor the response is logged.
 */
export const internalGitHubTokenRoute = (users: UserDirectory) =>
  new Hono().get('/internal/users/:userId/github-token', async (c) => {
    const token = await users.githubToken(c.req.param('userId'))
    if (!token) throw new NotFound('the gateway keeps no GitHub token for this user')
    return c.json(token, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' })
  })
