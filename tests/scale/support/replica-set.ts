import { startNginxWith } from '../../proxies/support/nginx.ts'
import type { RunningProxy } from '../../proxies/support/proxy.ts'

/**
 * nginx round-robin in front of several auth replicas, configured as docs/operations.md says a
 * proxy must be: a replica that refuses connections is skipped at once (`max_fails=1`) and the
 * request goes to the next one (`proxy_next_upstream error timeout non_idempotent`: a POST too,
 * which a replica closing its idle connections may reset before reading it; the refresh grace
 * makes a `/token` sent twice safe); idle upstream connections are pooled below the gateway's
 * 95 s keep-alive.
 */
export function nginxReplicaConfig(proxyPort: number, replicaPorts: readonly number[]): string {
  const servers = replicaPorts
    .map((port) => `    server 127.0.0.1:${port} max_fails=1 fail_timeout=10s;`)
    .join('\n')
  return `  upstream gateway_auth {
${servers}
    keepalive 32;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${proxyPort};
    location / {
      proxy_pass http://gateway_auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout non_idempotent;
      proxy_next_upstream_tries 3;
    }
  }
`
}

export function startReplicaNginx(
  proxyPort: number,
  replicaPorts: readonly number[]
): Promise<RunningProxy> {
  return startNginxWith({
    port: proxyPort,
    http: nginxReplicaConfig(proxyPort, replicaPorts),
    workerConnections: 1024,
    dirPrefix: 'gateway-replicas-nginx-',
  })
}
