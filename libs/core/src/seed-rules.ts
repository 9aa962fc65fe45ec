/**
 * The numbers of seed/data-flow.txt, in its own words, in one place. Code that applies one of these
 * rules imports it from here (configurable ones are defaults of @berth/config).
 */

/** Section 2: "Snapshots live in process memory and expire after 45 s; misses return live=false." */
export const STATS_SNAPSHOT_TTL_MS = 45_000;

/** Section 3: each log line is "capped to 8 KiB before reaching the bus". */
export const LOG_LINE_MAX_BYTES = 8 * 1024;

/** Section 4: "recoverStuckJobs (15-min timeout) flips them to failed". */
export const STUCK_JOB_TIMEOUT_MS = 15 * 60_000;

/** Section 4: recoverStuckJobs runs every minute. */
export const STUCK_JOB_SWEEP_INTERVAL_MS = 60_000;

/** Section 7: "one row per (app_id, 5-min bucket)". */
export const USAGE_BUCKET_MS = 5 * 60_000;

/** Section 7: the recorder writes "per minute". */
export const USAGE_RECORD_INTERVAL_MS = 60_000;

/** Section 7: "A daily pruner deletes rows older than 90 days." */
export const USAGE_RETENTION_DAYS = 90;

/** Section 8: the worker Traefik polls every 2 s, the proxy Traefik every 5 s. */
export const TRAEFIK_WORKER_POLL_MS = 2_000;
export const TRAEFIK_PROXY_POLL_MS = 5_000;

export const DAY_MS = 24 * 60 * 60_000;

/** Section 6 (event-driven kinds): crashloop fires "when the container exits 3 times within 5 minutes". */
export const CRASHLOOP_EXITS = 3;
export const CRASHLOOP_WINDOW_MS = 5 * 60_000;
/** Section 6: crashloop "resolves after it stays up for 5 minutes". */
export const CRASHLOOP_RESOLVE_AFTER_MS = 5 * 60_000;

/** Section 6: a rule's sustain_minutes is at least one minute and at most a day. */
export const ALERT_SUSTAIN_MINUTES_MAX = 24 * 60;
