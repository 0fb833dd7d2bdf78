import type { Context, Hono } from 'hono'
import type { FakeIssue, FakeRepositories, FakeRepository } from './repositories.ts'
import { hasScope } from './scopes.ts'
import type { FakeGitHubToken } from './tokens.ts'
import type { FakeGitHubUser } from './users.ts'

type Caller = { token: FakeGitHubToken; user: FakeGitHubUser }
type Authenticate = (c: Context, accepted: string) => Caller | Response
type Json = (c: Context, status: number, body: unknown) => Response
type Message = (text: string, status: number) => unknown

/**
 * `GET /user/repos`, `GET /repos/{owner}/{repo}/issues/{number}`, `POST /repos/{owner}/{repo}/issues`
 * as GitHub answers an OAuth App's token: private repositories need the `repo` scope, opening an
 * issue `public_repo` (or `repo`); a repository the token may not see is 404, never 403.
 */
export function repoRoutes(
  app: Hono,
  repositories: FakeRepositories,
  tools: { authenticate: Authenticate; json: Json; message: Message; apiUrl: () => string }
): void {
  const { authenticate, json, message, apiUrl } = tools
  const visible = (repository: FakeRepository | undefined, caller: Caller) => {
    if (!repository) return undefined
    if (!repository.private) return repository
    const login = caller.user.login.toLowerCase()
    const member = repository.owner.toLowerCase() === login || repository.collaborators.has(login)
    return member && hasScope(caller.token.scopes, 'repo') ? repository : undefined
  }

  app.get('/user/repos', (c) => {
    const caller = authenticate(c, '')
    if (caller instanceof Response) return caller
    const login = caller.user.login.toLowerCase()
    const mine = repositories
      .all()
      .filter((r) => r.owner.toLowerCase() === login || r.collaborators.has(login))
      .filter((r) => visible(r, caller))
    const perPage = Math.min(100, Math.max(1, Number(c.req.query('per_page') ?? 30) || 30))
    const page = Math.max(1, Number(c.req.query('page') ?? 1) || 1)
    const slice = mine.slice((page - 1) * perPage, page * perPage)
    return json(
      c,
      200,
      slice.map((r) => repositoryJson(r, apiUrl()))
    )
  })

  app.get('/repos/:owner/:repo/issues/:number', (c) => {
    const caller = authenticate(c, 'repo')
    if (caller instanceof Response) return caller
    const repository = visible(repositories.find(c.req.param('owner'), c.req.param('repo')), caller)
    const issue = repository?.issues.find((i) => String(i.number) === c.req.param('number'))
    if (!repository || !issue) return json(c, 404, message('Not Found', 404))
    return json(c, 200, issueJson(repository, issue, apiUrl()))
  })

  app.post('/repos/:owner/:repo/issues', async (c) => {
    const caller = authenticate(c, 'public_repo, repo')
    if (caller instanceof Response) return caller
    const repository = visible(repositories.find(c.req.param('owner'), c.req.param('repo')), caller)
    if (!repository || !hasScope(caller.token.scopes, 'public_repo')) {
      return json(c, 404, message('Not Found', 404))
    }
    let input: { title?: unknown; body?: unknown }
    try {
      input = JSON.parse(await c.req.text()) as typeof input
    } catch {
      return json(c, 400, message('Problems parsing JSON', 400))
    }
    if (typeof input.title !== 'string' || input.title === '') {
      return json(c, 422, message('Invalid request.\n\n"title" wasn\'t supplied.', 422))
    }
    const issue: FakeIssue = {
      number: repository.issues.length + 1,
      title: input.title,
      body: typeof input.body === 'string' ? input.body : null,
      author: { login: caller.user.login, id: caller.user.id },
      createdAt: new Date().toISOString(),
    }
    repository.issues.push(issue)
    return json(c, 201, issueJson(repository, issue, apiUrl()))
  })
}

function repositoryJson(repository: FakeRepository, base: string) {
  const fullName = `${repository.owner}/${repository.name}`
  return {
    name: repository.name,
    full_name: fullName,
    private: repository.private,
    owner: { login: repository.owner },
    description: repository.description,
    html_url: `https://github.com/${fullName}`,
    url: `${base}/repos/${fullName}`,
    open_issues_count: repository.issues.length,
  }
}

function issueJson(repository: FakeRepository, issue: FakeIssue, base: string) {
  const fullName = `${repository.owner}/${repository.name}`
  return {
    url: `${base}/repos/${fullName}/issues/${issue.number}`,
    html_url: `https://github.com/${fullName}/issues/${issue.number}`,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: 'open',
    user: issue.author,
    labels: [],
    assignees: [],
    comments: 0,
    created_at: issue.createdAt,
    updated_at: issue.createdAt,
  }
}
