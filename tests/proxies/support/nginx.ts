import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDENTITY_HEADERS } from '../../../auth/src/verify/identity-headers.ts'
import { requireBinary, startProcess } from './processes.ts'
import type { ProxyTargets, RunningProxy } from './proxy.ts'

/** `X-User-Id` → `user_id`: the nginx variable an identity header is kept in. */
const variable = (header: string) => header.toLowerCase().replace(/^x-/, '').replace(/-/g, '_')

/** The `server` block documented in docs/verify.md, on test ports. */
export function nginxServer(targets: ProxyTargets): string {
  const copy = IDENTITY_HEADERS.map(
    (h) =>
      `      auth_request_set $${variable(h)} $upstream_http_${h.toLowerCase().replace(/-/g, '_')};`
  ).join('\n')
  const pass = IDENTITY_HEADERS.map((h) => `      proxy_set_header ${h} $${variable(h)};`).join(
    '\n'
  )
  return `  upstream gateway_auth {
    server 127.0.0.1:${targets.authPort};
    keepalive 16;
  }
  upstream mcp_service {
    server 127.0.0.1:${targets.upstreamPort};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${targets.proxyPort};
    server_name 127.0.0.1;
    client_max_body_size 4m;

    location / {
      auth_request /_gateway_verify;
${copy}
${pass}
      auth_request_set $refusal_origin $upstream_http_access_control_allow_origin;
      auth_request_set $refusal_expose $upstream_http_access_control_expose_headers;
      add_header Access-Control-Allow-Origin $refusal_origin always;
      add_header Access-Control-Expose-Headers $refusal_expose always;
      proxy_set_header Authorization "";
      proxy_set_header X-Bridge-Secret "${targets.bridgeSecret}";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_pass http://mcp_service;
    }

    location /.well-known/ {
      proxy_pass http://gateway_auth;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $server_name:$server_port;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }

    location = /_gateway_verify {
      internal;
      proxy_pass http://gateway_auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $server_name:$server_port;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-URL "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
`
}

export async function startNginx(targets: ProxyTargets): Promise<RunningProxy> {
  return startNginxWith({ port: targets.proxyPort, http: nginxServer(targets) })
}

export interface NginxLaunch {
  /** The port the configuration listens on: start-up waits until it accepts connections. */
  readonly port: number
  /** The inside of the `http` block: upstreams and servers. */
  readonly http: string
  readonly workerConnections?: number
  /** Prefix of the temporary directory that holds the configuration, pid, logs and buffers. */
  readonly dirPrefix?: string
}

/**
 * nginx from Debian in the foreground (one worker, no master), everything it writes kept in a
 * temporary directory that `stop` removes.
 */
export async function startNginxWith(launch: NginxLaunch): Promise<RunningProxy> {
  const binary = requireBinary('/usr/sbin/nginx', 'nginx-light')
  const dir = await mkdtemp(join(tmpdir(), launch.dirPrefix ?? 'gateway-nginx-'))
  await mkdir(join(dir, 'temp'))
  const config = join(dir, 'nginx.conf')
  await writeFile(
    config,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${launch.workerConnections ?? 512}; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
${launch.http}}
`
  )
  const nginx = await startProcess(
    binary,
    ['-p', dir, '-c', config, '-e', join(dir, 'error.log')],
    launch.port
  )
  return {
    output: nginx.output,
    async stop() {
      await nginx.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
