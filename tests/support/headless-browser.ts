/**
 * A minimal browser for OAuth redirects without a real one: it follows redirects, keeps cookies
 * per host, and submits the consent form. Requests to the gateway can go to an in-process app
 * (`route`), everything else over the network. The journey stops at the client's redirect URI,
 * where a real browser would hand over to the application.
 */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>

export interface Page {
  readonly url: string
  readonly response: Response
  readonly body: string
}

export class HeadlessBrowser {
  private readonly jar = new Map<string, Map<string, string>>()
  private readonly route: (url: URL) => Fetcher

  constructor(route: (url: URL) => Fetcher = () => (url, init) => fetch(url, init)) {
    this.route = route
  }

  /** Follows redirects from `url` until a page answers or the URL starts with `stopAt`. */
  async open(url: string, stopAt: string, init: RequestInit = {}): Promise<Page> {
    let current = url
    let request = init
    // Compared as a browser holds URLs (`HOST:443` is `host`), as `current` is below.
    const stop = URL.canParse(stopAt) ? new URL(stopAt).href : stopAt
    for (let hop = 0; hop < 15; hop++) {
      if (hop > 0 && current.startsWith(stop)) {
        return { url: current, response: new Response(null, { status: 200 }), body: '' }
      }
      const target = new URL(current)
      const response = await this.route(target)(current, {
        ...request,
        redirect: 'manual',
        headers: {
          ...(request.headers as Record<string, string>),
          Cookie: this.cookieHeader(target),
        },
      })
      this.store(target, response)
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, current).href
        request = {}
        continue
      }
      return { url: current, response, body: await response.text() }
    }
    throw new Error(`too many redirects from ${url}`)
  }

  /** Submits the consent form on `page` with the given decision (`approve` or `deny`). */
  submitConsent(page: Page, decision: 'approve' | 'deny', stopAt: string): Promise<Page> {
    return this.submitForm(page, { decision }, stopAt)
  }

  /** Submits the page's form: its hidden fields plus `values`. */
  submitForm(page: Page, values: Record<string, string>, stopAt: string): Promise<Page> {
    const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page.body)
    if (!form?.[1] || form[2] === undefined) {
      throw new Error(`no form on ${page.url}: ${page.body.slice(0, 300)}`)
    }
    const fields = new URLSearchParams()
    for (const input of form[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
      fields.append(decodeEntities(input[1] ?? ''), decodeEntities(input[2] ?? ''))
    }
    for (const [name, value] of Object.entries(values)) fields.set(name, value)
    const action = new URL(decodeEntities(form[1]), page.url)
    return this.open(action.href, stopAt, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: action.origin },
      body: fields.toString(),
    })
  }

  cookiesOf(origin: string): Map<string, string> {
    return this.jar.get(new URL(origin).host) ?? new Map()
  }

  private cookieHeader(url: URL): string {
    return [...(this.jar.get(url.host) ?? new Map())]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ')
  }

  private store(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';')
      const separator = pair.indexOf('=')
      const name = pair.slice(0, separator).trim()
      const value = pair.slice(separator + 1).trim()
      const cookies = this.jar.get(url.host) ?? new Map<string, string>()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === ''
      if (expired) cookies.delete(name)
      else cookies.set(name, value)
      this.jar.set(url.host, cookies)
    }
  }
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}
