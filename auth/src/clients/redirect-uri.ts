import { isPlainText } from './plain-text.ts'

/**
 * Redirect URI policy for registration (RFC 7591 §2, OAuth 2.1 §2.3.1, RFC 8252 §7):
 * https anywhere, http only on loopback, private-use schemes for native apps (`cursor://`,
 * `vscode://`, `com.example.app:/`), never a fragment, a wildcard or a relative URI.
 */
const FORBIDDEN_SCHEMES = new Set([
  'javascript',
  'data',
  'vbscript',
  'file',
  'about',
  'blob',
  'filesystem',
  'ftp',
  'ws',
  'wss',
  'mailto',
  'tel',
  'sms',
])

/**
 * Schemes that browsers register to open a web page: `microsoft-edge:https://evil.example/cb`
 * looks like a native app's redirect but hands the code to a web site. Each browser has several
 * (`microsoft-edge-https:`, `googlechrome-x-callback:`, `firefox-focus:`), and more come, so a
 * browser's prefix and any scheme ending in `-http` or `-https` are refused, with Android's
 * `intent:`.
 */
const BROWSER_SCHEME =
  /^(?:microsoft-edge|googlechrome|firefox|opera|brave|x-safari|onionhttp|intent$|android-app$|x-web-search$)|-https?$/

/**
 * Schemes that open a part of the system, a store, a share or a call rather than an application's
 * callback, besides every `ms-` one of Windows: no application's redirect, and some have been the
 * way into the system for a page that sends a browser there, as a redirect after Deny would.
 * Windows' own outside `ms-` (`search-ms:`, `shell:`, the help viewers' `hcp:`, `its:`, `mk:`),
 * Apple's (`itms-services:` installs an app from a web manifest), Android's store, Linux's package
 * and help handlers, file shares (`smb:` can hand over the user's Windows credentials), calls,
 * feeds, old protocols, and browser extensions.
 */
const SYSTEM_SCHEME_PREFIX = 'ms-'
const SYSTEM_SCHEMES = new Set([
  'search-ms',
  'search',
  'shell',
  'msdt',
  'hcp',
  'its',
  'mk',
  'itms-services',
  'itms-apps',
  'itms',
  'x-apple.systempreferences',
  'x-apple-helpbook',
  'help',
  'facetime',
  'facetime-audio',
  'market',
  'apt',
  'ghelp',
  'windowsdefender',
  'microsoft.windows.camera',
  'smb',
  'nfs',
  'afp',
  'callto',
  'skype',
  'feed',
  'feeds',
  'ldap',
  'ldaps',
  'telnet',
  'res',
  'mhtml',
  'chrome-extension',
  'moz-extension',
  'safari-extension',
])

/**
 * Schemes HTML lets any web page ask to handle (`registerProtocolHandler`'s safelist), besides
 * `web+` ones: a redirect through one can hand the code to a site while the consent page says it
 * stays on this computer. (`mailto`, `tel`, `sms` and `ftp` are refused above already.)
 */
const WEB_HANDLED_SCHEMES = new Set([
  'bitcoin',
  'ftps',
  'geo',
  'im',
  'irc',
  'ircs',
  'magnet',
  'matrix',
  'mms',
  'news',
  'nntp',
  'openpgp4fpr',
  'sftp',
  'sip',
  'smsto',
  'ssh',
  'urn',
  'webcal',
  'wtai',
  'xmpp',
])

const WEB_URL_INSIDE = /https?:(?:\/|%2f)|https?%3a/i

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

export const MAX_REDIRECT_URI_LENGTH = 2000

/**
 * The loopback names a native app's redirect URI may use with any port (RFC 8252 §7.3, §8.3):
 * these exactly, not the rest of 127/8, which the RFC does not name and no client sends. Where
 * the gateway itself listens, any 127/8 address is loopback (`config-values.ts`).
 */
export function isLoopbackRedirectHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase())
}

/** Why a redirect URI cannot be registered, or undefined when it can. */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > MAX_REDIRECT_URI_LENGTH) return 'is too long'
  if (/[\s*]/.test(value)) return 'must not contain whitespace or wildcards'
  // URL parsers drop these silently, so the URI compared would not be the URI sent.
  if (/\p{Cc}/u.test(value)) return 'must not contain control characters'
  // The consent page shows a private-use redirect URI as written.
  if (!isPlainText(value)) return 'must not contain invisible or formatting characters'
  if (value.includes('#')) return 'must not contain a fragment'
  // Parsers disagree on these (`https:host`, `https://a\\@b`): refuse rather than guess.
  if (value.includes('\\')) return 'must not contain backslashes'
  if (/^https?:(?!\/\/)/i.test(value)) return 'must be an absolute URI with //'
  // `https:///cb` and `https:////evil.example/cb` parse as hosts `cb` and `evil.example`.
  if (/^https?:\/\/[/?]/i.test(value)) return 'must name a host right after //'
  // Resolved by the parser (`/cb/%2e%2e/x` is `/x`): the URI followed would not be the one shown.
  if (/^https?:\/\/[^/?]*(\/[^?]*)?/i.exec(value)?.[1]?.match(/\/(\.|%2e){1,2}(?=\/|$)/i)) {
    return 'must not contain dot segments (. or ..)'
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute URI'
  }
  if (url.username || url.password) return 'must not contain user information'
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  if (scheme === 'https') {
    if (!url.hostname) return 'must name a host'
    return url.port === '0' ? 'must not use port 0, where nothing can listen' : undefined
  }
  if (scheme === 'http') {
    if (!isLoopbackRedirectHost(url.hostname)) {
      return 'may use http only on a loopback host (127.0.0.1, [::1], localhost)'
    }
    return url.port === '0' ? 'must not use port 0, where nothing can listen' : undefined
  }
  if (FORBIDDEN_SCHEMES.has(scheme)) return `must not use the ${scheme}: scheme`
  // HTML lets any web page ask to handle a `web+` scheme, and an extension an `ext+` one.
  if (/^(web|ext)\+/.test(scheme) || WEB_HANDLED_SCHEMES.has(scheme)) {
    return `must not use the ${scheme}: scheme: a web page or a browser extension may handle it`
  }
  if (scheme.startsWith(SYSTEM_SCHEME_PREFIX) || SYSTEM_SCHEMES.has(scheme)) {
    return `must not use the ${scheme}: scheme: it opens a part of the operating system`
  }
  // A web URL anywhere after the scheme, as is or encoded (`app://https://…`, a browser's
  // `open?url=https%3A%2F%2F…`, a launcher's `openurl/https://…`): no callback needs one.
  if (BROWSER_SCHEME.test(scheme) || WEB_URL_INSIDE.test(value.slice(scheme.length + 1))) {
    return 'must not open a web page through a browser scheme (use https for web redirects)'
  }
  return undefined
}

/**
 * What a client's `application_type` (OpenID Connect Dynamic Client Registration §2, which MCP
 * clients send since 2026-07-28) adds to the rules above: a web application redirects to https
 * only. A native one may use loopback http (any port at authorization time, RFC 8252 §7.3), its
 * own scheme (§7.1) or a claimed https URL (§7.2: VS Code registers `https://vscode.dev/redirect`
 * as native). Without a type, the rules above alone, as for clients that predate it.
 */
export function applicationTypeProblem(
  value: string,
  applicationType: 'web' | 'native' | undefined
): string | undefined {
  if (applicationType !== 'web' || /^https:/i.test(value)) return undefined
  return 'must use https for a web application (loopback and custom-scheme redirects are for application_type "native")'
}
