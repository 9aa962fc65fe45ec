/**
 * The one place Berth reads process.env. Each process calls one loader at boot; a bad value stops
 * the process with a message naming the variable. Everything else receives typed config.
 */
import os from 'node:os';
import { STUCK_JOB_TIMEOUT_MS } from '@berth/core';

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/berth';
export const DEFAULT_PORT = 8080;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function url(env: Env, name: string, fallback?: string): string | undefined {
  const v = str(env, name) ?? fallback;
  if (v === undefined) return undefined;
  try {
    new URL(v);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${v}"`);
  }
  return v;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: Env): LogLevel {
  const v = (str(env, 'BERTH_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(v)) throw new ConfigError(`BERTH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${v}"`);
  return v;
}

export interface ControlPlaneConfig {
  databaseUrl: string;
  /** Connections in the control plane's PostgreSQL pool. */
  databasePoolSize: number;
  port: number;
  host: string;
  adminToken?: string;
  baseDomain?: string;
  logLevel: LogLevel;
  /** How often projectors and the scheduler poll when no NOTIFY woke them. */
  pollIntervalMs: number;
  /** Days runtime log lines are kept (BERTH_LOG_RETENTION_DAYS). */
  logRetentionDays: number;
  /** A worker with no heartbeat for this long is offline (seed 4). */
  workerGraceMs: number;
  /** recoverStuckJobs fails a job with no progress for this long (seed 4: 15 minutes). */
  stuckJobTimeoutMs: number;
  /** Static bearer token Traefik sends to /v1/traefik/*; unset: those endpoints answer 401. */
  traefikToken?: string;
  /** Certificate resolver named on the edge proxy's custom-domain routers. */
  traefikCertResolver: string;
  /** DNS servers (host or host:port) that verify custom domains; empty: the system's resolvers. */
  dnsServers: string[];
  /** How often verified domains' TXT records are checked again. */
  domainRecheckIntervalMs: number;
  /** 32-byte AES-256-GCM key for secrets kept at rest (webhook secrets); unset: a key for this process only. */
  secretKey?: Buffer;
  /** Base URL git hosts reach the control plane on (webhook URLs); default http://127.0.0.1:<port>. */
  publicUrl: string;
  alerts: AlertsConfig;
}

export interface AlertsConfig {
  /** How often the alert poller walks every enabled rule (seed 6). */
  tickMs: number;
  /** Signs webhook bodies (HMAC-SHA256, header X-Berth-Signature); unset: webhooks go unsigned. */
  webhookSecret?: string;
  /** SMTP server for email channels (smtp:// or smtps://); unset: email deliveries fail with a reason. */
  smtpUrl?: string;
  smtpFrom: string;
  /** First retry delay of a failed delivery; doubles per attempt up to 15 minutes. */
  retryBaseMs: number;
  /** Attempts per delivery before it is given up as failed. */
  maxAttempts: number;
}

/** BERTH_SECRET_KEY: 32 bytes, as 64 hex characters or as base64. */
export function parseSecretKey(value: string, name = 'BERTH_SECRET_KEY'): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new ConfigError(`${name} must be a 32-byte key, as 64 hex characters or as base64 (e.g. openssl rand -hex 32)`);
  return key;

}

function dnsServers(env: Env): string[] {
  const v = str(env, 'BERTH_DNS_SERVERS');
  if (v === undefined) return [];
  const servers = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of servers) {
    if (!/^(\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:.]+|[A-Za-z0-9.-]+(:\d{1,5})?)$/.test(s)) {
      throw new ConfigError(`BERTH_DNS_SERVERS must be a comma-separated list of host[:port], got "${s}"`);
    }
  }
  return servers;
}

export function loadControlPlaneConfig(env: Env = process.env): ControlPlaneConfig {
  return {
    databaseUrl: url(env, 'DATABASE_URL', DEFAULT_DATABASE_URL)!,
    databasePoolSize: int(env, 'BERTH_DATABASE_POOL_SIZE', 10, 2, 200),
    port: int(env, 'BERTH_PORT', DEFAULT_PORT, 0, 65535),
    host: str(env, 'BERTH_HOST') ?? '0.0.0.0',
    adminToken: str(env, 'BERTH_ADMIN_TOKEN'),
    baseDomain: str(env, 'BERTH_BASE_DOMAIN'),
    logLevel: logLevel(env),
    pollIntervalMs: int(env, 'BERTH_POLL_INTERVAL_MS', 1000, 10, 60_000),
    logRetentionDays: int(env, 'BERTH_LOG_RETENTION_DAYS', 7, 1, 3650),
    workerGraceMs: int(env, 'BERTH_WORKER_GRACE_MS', 15_000, 1_000, 24 * 3_600_000),
    stuckJobTimeoutMs: int(env, 'BERTH_STUCK_JOB_TIMEOUT_MS', STUCK_JOB_TIMEOUT_MS, 1_000, 7 * 24 * 3_600_000),
    traefikToken: str(env, 'BERTH_TRAEFIK_TOKEN'),
    traefikCertResolver: str(env, 'BERTH_TRAEFIK_CERT_RESOLVER') ?? 'letsencrypt',
    dnsServers: dnsServers(env),
    domainRecheckIntervalMs: int(env, 'BERTH_DOMAIN_RECHECK_INTERVAL_MS', 10 * 60_000, 1000),
    secretKey: str(env, 'BERTH_SECRET_KEY') === undefined ? undefined : parseSecretKey(str(env, 'BERTH_SECRET_KEY')!),
    publicUrl: url(env, 'BERTH_PUBLIC_URL', `http://127.0.0.1:${int(env, 'BERTH_PORT', DEFAULT_PORT, 0, 65535)}`)!.replace(/\/+$/, ''),
    alerts: {
      tickMs: int(env, 'BERTH_ALERT_TICK_MS', 30_000, 100, 3_600_000),
      webhookSecret: str(env, 'BERTH_ALERT_WEBHOOK_SECRET'),
      smtpUrl: url(env, 'BERTH_SMTP_URL'),
      smtpFrom: str(env, 'BERTH_SMTP_FROM') ?? 'berth@localhost',
      retryBaseMs: int(env, 'BERTH_ALERT_RETRY_BASE_MS', 5_000, 10, 3_600_000),
      maxAttempts: int(env, 'BERTH_ALERT_MAX_ATTEMPTS', 10, 1, 100),
    },
  };
}

export interface AgentConfig {
  /** Control plane base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  workerToken: string;
  zone?: string;
  /** Address other hosts reach this worker's published ports on. */
  advertiseIp: string;
  /** Standard DOCKER_HOST; unset means the local socket. */
  dockerHost?: string;
  /** Memory the agent offers to the scheduler; default: the machine's total. */
  capacityMemoryMb: number;
  capacityCpus: number;
  /** Health-check deadline for a new container (issue: 60 s by default). */
  healthCheckDeadlineMs: number;
  /** Where the agent clones repositories while building. */
  workDir: string;
  /** What the agent keeps of unsent messages while the control plane is unreachable; past it the oldest log lines go. */
  logBufferBytes: number;
  /**
   * Where app logs are read (BERTH_LOG_SOURCE): `auto` (each container's json-file log where the agent
   * can read it, else the Engine's logs API), `file` or `engine` only.
   */
  logSource?: 'auto' | 'file' | 'engine';
  logLevel: LogLevel;
  /** Seed 2: how often the agent samples its app containers and sends one stats:snapshots message (default 5000). */
  statsIntervalMs?: number;
  /** The proxy in front of this worker's apps; absent: Traefik (which polls the control plane itself). */
  proxy?: AgentProxyConfig;
}

export interface AgentProxyConfig {
  /** traefik: it polls /v1/traefik/config, the agent does nothing; caddy: the agent drives a local Caddy. */
  kind: 'traefik' | 'caddy' | 'none';
  /** Caddy's admin API, when kind is caddy. */
  caddyAdminUrl: string;
  /** Caddy's TLS: `internal` (its own CA: tests, private networks) or `acme` (public certificates). */
  caddyTls: 'internal' | 'acme';
  /** Where Caddy serves plain HTTP ([host]:port). */
  caddyHttpListen: string;
  /** Where Caddy serves HTTPS ([host]:port). */
  caddyHttpsListen: string;
}

const PROXIES = ['traefik', 'caddy', 'none'] as const;

function listenAddress(env: Env, name: string, fallback: string): string {
  const v = str(env, name) ?? fallback;
  const m = /^(.*):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new ConfigError(`${name} must be [host]:port, e.g. ":443" or "127.0.0.1:8443", got "${v}"`);
  return v;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const v = (str(env, name) ?? fallback) as T;
  if (!values.includes(v)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${v}"`);
  return v;
}

export function loadAgentConfig(env: Env = process.env): AgentConfig {
  const workerToken = str(env, 'BERTH_WORKER_TOKEN');
  if (!workerToken) throw new ConfigError('BERTH_WORKER_TOKEN is required: create a worker with POST /api/workers and pass the token it returns');
  return {
    url: url(env, 'BERTH_URL', `http://127.0.0.1:${DEFAULT_PORT}`)!,
    workerToken,
    zone: str(env, 'BERTH_WORKER_ZONE'),
    advertiseIp: str(env, 'BERTH_WORKER_ADVERTISE_IP') ?? '127.0.0.1',
    dockerHost: str(env, 'DOCKER_HOST'),
    capacityMemoryMb: int(env, 'BERTH_WORKER_MEMORY_MB', Math.floor(os.totalmem() / 1024 / 1024), 64),
    capacityCpus: int(env, 'BERTH_WORKER_CPUS', os.cpus().length, 1),
    healthCheckDeadlineMs: int(env, 'BERTH_HEALTH_CHECK_DEADLINE_MS', 60_000, 1000),
    workDir: str(env, 'BERTH_WORKER_DIR') ?? `${os.tmpdir()}/berth-agent`,
    logBufferBytes: int(env, 'BERTH_LOG_BUFFER_BYTES', 64 * 1024 * 1024, 1024 * 1024),
    logSource: oneOf(env, 'BERTH_LOG_SOURCE', ['auto', 'file', 'engine'] as const, 'auto'),
    logLevel: logLevel(env),
    statsIntervalMs: int(env, 'BERTH_STATS_INTERVAL_MS', 5000, 100, 3_600_000),
    proxy: {
      kind: oneOf(env, 'BERTH_PROXY', PROXIES, 'traefik'),
      caddyAdminUrl: url(env, 'BERTH_CADDY_ADMIN_URL', 'http://127.0.0.1:2019')!,
      caddyTls: oneOf(env, 'BERTH_CADDY_TLS', ['internal', 'acme'] as const, 'acme'),
      caddyHttpListen: listenAddress(env, 'BERTH_CADDY_HTTP_LISTEN', ':80'),
      caddyHttpsListen: listenAddress(env, 'BERTH_CADDY_HTTPS_LISTEN', ':443'),
    },
  };
}
