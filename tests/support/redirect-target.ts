import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A client application's side of the browser journey: a real HTTP server on 127.0.0.1 that
 * records every redirect it receives on `/callback`, and serves `/frame?src=<url>`, a page of its
 * own origin that embeds `src` in an iframe, and `/auto-post?action=<url>&<fields>`, a page that
 * posts a form to `action` on load.
 */
export interface RedirectTarget {
  readonly origin: string
  /** `http://127.0.0.1:<port>/callback`, to register as the client's redirect URI. */
  readonly callbackUrl: string
  /** The query of every request to `/callback`, oldest first. */
  readonly received: URLSearchParams[]
  close(): Promise<void>
}

export async function startRedirectTarget(): Promise<RedirectTarget> {
  const received: URLSearchParams[] = []
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    if (url.pathname === '/callback') {
      received.push(url.searchParams)
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(
        '<!doctype html><title>Client</title><p id="client-landing">Back at the client</p>'
      )
      return
    }
    if (url.pathname === '/frame') {
      const src = escapeAttribute(url.searchParams.get('src') ?? 'about:blank')
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(
        `<!doctype html><title>Framing</title><iframe name="embedded" src="${src}"></iframe>`
      )
      return
    }
    if (url.pathname === '/auto-post') {
      // A page of another site that posts a form to `action` as soon as it loads (a CSRF attempt):
      // every other query parameter becomes a hidden field.
      const action = escapeAttribute(url.searchParams.get('action') ?? 'about:blank')
      const fields = [...url.searchParams]
        .filter(([name]) => name !== 'action')
        .map(
          ([name, value]) =>
            `<input type="hidden" name="${escapeAttribute(name)}" value="${escapeAttribute(value)}">`
        )
        .join('')
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(
        `<!doctype html><title>Cross-site form</title><form id="forged" method="post" action="${action}">${fields}</form><script>document.getElementById('forged').submit()</script>`
      )
      return
    }
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    callbackUrl: `${origin}/callback`,
    received,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
}
