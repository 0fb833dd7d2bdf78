/** Sends a request to the gateway: in-process (`app.request`) or over HTTP. */
export type GatewayRequest = (path: string, init?: RequestInit) => Promise<Response>

/**
 * What a browser holds after opening the `/device` page: the CSRF cookie and the form's token,
 * enough to submit user codes (the token is checked against the cookie, not used up in the store,
 * so one page serves many submissions).
 */
export interface CodeForm {
  readonly cookie: string
  readonly csrfToken: string
}

export async function openCodeForm(request: GatewayRequest): Promise<CodeForm> {
  const page = await request('/device')
  const html = await page.text()
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1]
  const cookie = page.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ')
  if (page.status !== 200 || !csrfToken || !cookie) {
    throw new Error(`no code form at /device: ${page.status} ${html.slice(0, 300)}`)
  }
  return { cookie, csrfToken }
}

/** Submits a user code on the `/device` form, as the page's own form does. */
export function submitUserCode(request: GatewayRequest, form: CodeForm, userCode: string) {
  return request('/device', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: form.cookie },
    body: new URLSearchParams({ csrf_token: form.csrfToken, user_code: userCode }).toString(),
  })
}

/** A user code in the right format that names no device (8 letters of the user-code alphabet). */
export function randomWrongUserCode(): string {
  const alphabet = 'BCDFGHJKLMNPQRSTVWXZ'
  let code = ''
  for (let i = 0; i < 8; i++) code += alphabet[Math.floor(Math.random() * alphabet.length)]
  return `${code.slice(0, 4)}-${code.slice(4)}`
}
