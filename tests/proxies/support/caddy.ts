import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDENTITY_HEADERS } from '../../../auth/src/verify/identity-headers.ts'
import { requireBinary, startProcess } from './processes.ts'
import type { ProxyTargets, RunningProxy } from './proxy.ts'

/** The Caddyfile documented in docs/verify.md, on test ports. */
export function caddyfile(targets: ProxyTargets): string {
  return `{
	admin off
	auto_https off
}

http://127.0.0.1:${targets.proxyPort} {
	bind 127.0.0.1
	handle /.well-known/* {
		reverse_proxy 127.0.0.1:${targets.authPort} {
			transport http {
				keepalive 90s
			}
		}
	}
	handle {
		route {
			# The client's hop-by-hop list would take the copied identity headers away again.
			request_header -Connection
			forward_auth 127.0.0.1:${targets.authPort} {
				uri /verify
				copy_headers ${IDENTITY_HEADERS.join(' ')}
				transport http {
					keepalive 90s
				}
			}
			request_header -Authorization
			reverse_proxy 127.0.0.1:${targets.upstreamPort} {
				header_up X-Bridge-Secret {env.BRIDGE_SHARED_SECRET}
				transport http {
					keepalive 90s
				}
			}
		}
	}
}
`
}

export async function startCaddy(targets: ProxyTargets): Promise<RunningProxy> {
  const binary = requireBinary('/usr/bin/caddy', 'caddy')
  const dir = await mkdtemp(join(tmpdir(), 'gateway-caddy-'))
  const config = join(dir, 'Caddyfile')
  await writeFile(config, caddyfile(targets))
  const caddy = await startProcess(
    binary,
    ['run', '--config', config, '--adapter', 'caddyfile'],
    targets.proxyPort,
    {
      HOME: dir,
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      BRIDGE_SHARED_SECRET: targets.bridgeSecret,
    }
  )
  return {
    output: caddy.output,
    async stop() {
      await caddy.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
