import { z } from 'zod'
import { serviceCatalog } from '../../mcp-services/src/catalog.ts'
import {
  bearerToken,
  decimalNumber,
  wholeNumber,
  withoutEmptyValues,
} from '../../mcp-services/src/environment.ts'
import {
  type GatewayPolicy,
  loadPolicyFile,
  toolScopes,
} from '../../mcp-services/src/policy/policy-format.ts'
import type { Config, ProtectedResource } from './config-shape.ts'
import {
  ConfigError,
  checkLifetimes,
  developmentSignInAllowed,
  enabledServices,
  gitHubScopes,
  orgList,
  positive,
  publicAddress,
  servicePolicy,
  serviceVariable,
  teamList,
  userList,
} from './config-values.ts'
import { parsePinnedKey } from './keys/pinned-key.ts'
import { parseRedisUrl, RedisUrlError } from './store/redis-topology.ts'
import { parseTrustedProxies } from './trusted-proxies.ts'

export type { Config, ProtectedResource }
export { ConfigError }

/**
 * Configuration from the environment, validated once at start-up (DESIGN §3). This is the only
 * module that reads environment variables; everything else receives the frozen `Config`.
 */
const seconds = (fallback: number) => wholeNumber(0).default(fallback)
const commaList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
  )
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((value) =>
    value === undefined || value === '' ? undefined : /^(true|1|yes)$/.test(value)
  )

export const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  GATEWAY_MODE: z
    .enum(['standalone', 'auth'])
    .default('standalone')
    .describe(
      'standalone: auth and the enabled services in one process; auth: the authorization server alone'
    ),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: wholeNumber(1, 65535).optional(),
  AUTH_ISSUER: z.string().optional(),
  BASE_DOMAIN: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i,
      'a DNS name such as example.com'
    )
    .optional(),
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  GITHUB_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://github.com'),
  GITHUB_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.github.com'),
  GITHUB_EXTRA_SCOPES: commaList,
  DEVELOPMENT_SIGN_IN: flag,
  MCP_POLICY_FILE: z.string().optional(),
  ALLOWED_GITHUB_USERS: commaList,
  ALLOWED_GITHUB_ORGS: commaList,
  ALLOWED_GITHUB_TEAMS: commaList,
  REDIS_URL: z.string().superRefine(redisTopology).optional(),
  REDIS_KEY_PREFIX: z.string().default('gateway:'),
  JWT_PRIVATE_KEY_B64: z.string().min(1).superRefine(pinnedKey).optional(),
  ACCESS_TOKEN_TTL: seconds(3600),
  REFRESH_TOKEN_TTL: seconds(2_592_000),
  REFRESH_TOKEN_REUSE_GRACE: wholeNumber(0, 300).default(30),
  USER_RECHECK_INTERVAL: wholeNumber(0, 86_400).default(300),
  AUTH_CODE_TTL: seconds(60),
  DEVICE_CODE_TTL: seconds(600),
  CLIENT_LIFETIME: seconds(7_776_000),
  CLIENT_UNUSED_LIFETIME: seconds(3600),
  REGISTRATION_RATE_LIMIT: wholeNumber(1).default(30),
  REGISTRATION_GLOBAL_RATE_LIMIT: wholeNumber(1).default(120),
  TOKEN_RATE_LIMIT: wholeNumber(1).default(300),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const word = value?.trim()
      if (word === undefined || word === '') return undefined
      if (/^(true|1|yes)$/i.test(word)) return true
      if (/^(false|0|no)$/i.test(word)) return false
      try {
        return parseTrustedProxies(word)
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `true, false, or the proxy's addresses and networks: ${(error as Error).message}`,
        })
        return z.NEVER
      }
    }),
  CLIENT_ID_METADATA_DOCUMENTS: flag,
  DYNAMIC_CLIENT_REGISTRATION: flag,
  CIMD_ALLOW_LOOPBACK: flag,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  REFUSAL_LOG_RATE: wholeNumber(0, 1_000_000).default(20),
  INTERNAL_PORT: wholeNumber(1, 65535).default(8001),
  INTERNAL_API_SECRET: bearerToken(
    z
      .string()
      // As the bridges read it: a secret mounted from a file often ends in a newline.
      .trim()
      .min(32, 'at least 32 characters (npm run admin -- secrets INTERNAL_API_SECRET)')
  ).optional(),
  METRICS_TOKEN: bearerToken(
    z.string().min(32, 'at least 32 characters (just generate-all-secrets)')
  ).optional(),
  AUDIT_STREAM_MAX_LENGTH: wholeNumber(0, 10_000_000).default(10_000),
  SHUTDOWN_DELAY: decimalNumber({ atLeast: 0, atMost: 300 }).default(5),
  SHUTDOWN_TIMEOUT: decimalNumber({ atLeast: 0, atMost: 300 }).default(20),
})

type Environment = Readonly<Record<string, string | undefined>>

/** The settings the public address is made of. */
const addressSchema = environmentSchema.pick({
  NODE_ENV: true,
  GATEWAY_MODE: true,
  PORT: true,
  AUTH_ISSUER: true,
  BASE_DOMAIN: true,
})

/**
 * The issuer `loadConfig` announces for this environment, read from the few settings it is made
 * of: a client of the gateway (`npm run client-token`) run with the gateway's `.env` must not stop
 * at a server setting it has no use for, such as a policy file's path inside a container.
 */
export function loadIssuer(environment: Environment): string {
  return publicAddress(parseEnvironment(addressSchema, environment)).issuer
}

export function loadConfig(environment: Environment): Config {
  const env = withoutEmptyValues(environment)
  const e = parseEnvironment(environmentSchema, env)
  const production = e.NODE_ENV === 'production'
  const { port, issuer } = publicAddress(e)

  if (production && !e.REDIS_URL) {
    throw new ConfigError(
      'REDIS_URL: required when NODE_ENV=production (the memory store loses everything on restart)'
    )
  }
  if (production) {
    for (const name of ['GITHUB_BASE_URL', 'GITHUB_API_URL'] as const) {
      if (new URL(e[name]).protocol !== 'https:') {
        throw new ConfigError(`${name}: GitHub must be reached over https in production`)
      }
    }
  }
  const developmentSignIn = developmentSignInAllowed({
    optIn: e.DEVELOPMENT_SIGN_IN,
    issuer,
    host: e.HOST,
    production,
    github: Boolean(e.GITHUB_CLIENT_ID),
  })
  if (production && !e.GITHUB_CLIENT_ID) {
    throw new ConfigError(
      'GITHUB_CLIENT_ID: required when NODE_ENV=production (the development sign-in is refused there)'
    )
  }
  if (production && e.CIMD_ALLOW_LOOPBACK) {
    throw new ConfigError(
      'CIMD_ALLOW_LOOPBACK: refused when NODE_ENV=production (it lets anyone make the gateway fetch from its own host)'
    )
  }
  if (e.INTERNAL_API_SECRET && e.INTERNAL_PORT === port) {
    throw new ConfigError(`INTERNAL_PORT: must differ from the public port ${port}`)
  }
  if (Boolean(e.GITHUB_CLIENT_ID) !== Boolean(e.GITHUB_CLIENT_SECRET)) {
    throw new ConfigError(
      'GITHUB_CLIENT_SECRET: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET go together'
    )
  }

  checkLifetimes({
    accessToken: e.ACCESS_TOKEN_TTL,
    refreshToken: e.REFRESH_TOKEN_TTL,
    authorizationCode: e.AUTH_CODE_TTL,
  })

  const policyFile = policyFileOf(e.MCP_POLICY_FILE)
  return Object.freeze({
    production,
    mode: e.GATEWAY_MODE,
    host: e.HOST,
    port,
    issuer,
    github: {
      clientId: e.GITHUB_CLIENT_ID,
      clientSecret: e.GITHUB_CLIENT_SECRET,
      baseUrl: e.GITHUB_BASE_URL.replace(/\/+$/, ''),
      apiUrl: e.GITHUB_API_URL.replace(/\/+$/, ''),
      extraScopes: gitHubScopes(e.GITHUB_EXTRA_SCOPES),
    },
    developmentSignIn,
    developmentSignInOptedIn: e.DEVELOPMENT_SIGN_IN === true,
    allowedUsers: userList('ALLOWED_GITHUB_USERS', e.ALLOWED_GITHUB_USERS),
    allowedOrgs: orgList('ALLOWED_GITHUB_ORGS', e.ALLOWED_GITHUB_ORGS),
    allowedTeams: teamList('ALLOWED_GITHUB_TEAMS', e.ALLOWED_GITHUB_TEAMS),
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } : undefined,
    pinnedSigningKey: e.JWT_PRIVATE_KEY_B64,
    ttl: {
      accessToken: positive('ACCESS_TOKEN_TTL', e.ACCESS_TOKEN_TTL),
      refreshToken: positive('REFRESH_TOKEN_TTL', e.REFRESH_TOKEN_TTL),
      authorizationCode: positive('AUTH_CODE_TTL', e.AUTH_CODE_TTL),
      deviceCode: positive('DEVICE_CODE_TTL', e.DEVICE_CODE_TTL),
      client: e.CLIENT_LIFETIME,
      unusedClient: e.CLIENT_UNUSED_LIFETIME,
    },
    registrationRateLimit: e.REGISTRATION_RATE_LIMIT,
    registrationGlobalRateLimit: e.REGISTRATION_GLOBAL_RATE_LIMIT,
    tokenRateLimit: e.TOKEN_RATE_LIMIT,
    refreshTokenReuseGrace: e.REFRESH_TOKEN_REUSE_GRACE,
    userRecheckInterval: e.USER_RECHECK_INTERVAL,
    trustProxy: e.TRUST_PROXY ?? false,
    clientIdMetadataDocuments: {
      enabled: e.CLIENT_ID_METADATA_DOCUMENTS ?? true,
      allowLoopback: e.CIMD_ALLOW_LOOPBACK ?? false,
    },
    dynamicClientRegistration: e.DYNAMIC_CLIENT_REGISTRATION ?? true,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    internalApi: e.INTERNAL_API_SECRET
      ? { port: e.INTERNAL_PORT, secret: e.INTERNAL_API_SECRET }
      : undefined,
    metricsToken: e.METRICS_TOKEN,
    auditStreamMaxLength: e.AUDIT_STREAM_MAX_LENGTH,
    refusalLogRate: e.REFUSAL_LOG_RATE,
    shutdown: { delayMs: e.SHUTDOWN_DELAY * 1000, timeoutMs: e.SHUTDOWN_TIMEOUT * 1000 },
    protectedResources: enabledServices(env).map((service): ProtectedResource => {
      const policy = servicePolicy(env, service)
      return {
        service,
        toolScopes: toolScopes(policyFile?.services[service.name] ?? service.policy),
        resource: e.BASE_DOMAIN
          ? `https://${service.name}.${e.BASE_DOMAIN}/mcp`
          : `${issuer}/${service.name}/mcp`,
        allowedUsers:
          policy.users.length === 0 && policy.orgs.length === 0
            ? '*'
            : userList(serviceVariable(service, 'ALLOWED_USERS'), policy.users),
        allowedOrgs: policy.orgs,
      }
    }),
  })
}

/** The first fault of `environment` as a `ConfigError` naming the variable, else its values. */
function parseEnvironment<S extends z.ZodType>(schema: S, environment: Environment): z.output<S> {
  const parsed = schema.safeParse(withoutEmptyValues(environment))
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const variable = String(issue?.path[0] ?? 'environment')
  throw new ConfigError(`${variable}: ${issue?.message ?? 'invalid value'}`)
}

/** The bridges' policy file, read here for the scopes its tools need (docs/policy.md). */
function policyFileOf(path: string | undefined): GatewayPolicy | undefined {
  if (path === undefined || path.trim() === '') return undefined
  try {
    return loadPolicyFile(
      path.trim(),
      serviceCatalog.map((service) => service.name)
    )
  } catch (error) {
    throw new ConfigError((error as Error).message)
  }
}

/** `JWT_PRIVATE_KEY_B64` must be a key the gateway can sign with (keys/pinned-key.ts). */
function pinnedKey(base64: string, context: z.RefinementCtx): void {
  try {
    parsePinnedKey(base64)
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message })
  }
}

/** `REDIS_URL` names one server, a Sentinel-watched master or a Cluster (redis-topology.ts). */
function redisTopology(url: string, context: z.RefinementCtx): void {
  try {
    parseRedisUrl(url)
  } catch (error) {
    if (!(error instanceof RedisUrlError)) throw error
    context.addIssue({ code: 'custom', message: error.message })
  }
}
