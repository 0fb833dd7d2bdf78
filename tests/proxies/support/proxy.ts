/** Where a proxy under test listens and what it sits in front of. */
export interface ProxyTargets {
  readonly proxyPort: number
  readonly authPort: number
  readonly upstreamPort: number
  /** `BRIDGE_SHARED_SECRET`: the proxy adds it to every request it forwards to the service. */
  readonly bridgeSecret: string
}

export interface RunningProxy {
  output(): string
  stop(): Promise<void>
}

export type StartProxy = (targets: ProxyTargets) => Promise<RunningProxy>
