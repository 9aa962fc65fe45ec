// `npm start`: the whole platform on one machine — the control plane and one local worker agent.
// The admin token (BERTH_ADMIN_TOKEN, else generated once into ./data/admin-token), the key sealing
// webhook secrets (BERTH_SECRET_KEY, else generated once into ./data/secret-key) and the local
// worker's token (./data/local-worker.json) survive restarts. Ctrl-C stops both; containers keep running.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './swc-options.mjs';

/** The V8 flags both processes run with (see the file's "why"). */
const nodeFlags = JSON.parse(readFileSync(path.join(repoRoot, 'scripts/node-flags.json'), 'utf8')).flags;
const dataDir = path.join(repoRoot, 'data');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const say = (msg) => process.stdout.write(`[berth] ${msg}\n`);

function adminToken() {
  if (process.env.BERTH_ADMIN_TOKEN) return process.env.BERTH_ADMIN_TOKEN;
  const file = path.join(dataDir, 'admin-token');
  if (!existsSync(file)) writeFileSync(file, `bat_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** 32 random bytes as hex: the AES-256-GCM key webhook secrets are sealed with. Losing it means rotating every app's secret. */
function secretKey() {
  if (process.env.BERTH_SECRET_KEY) return process.env.BERTH_SECRET_KEY;
  const file = path.join(dataDir, 'secret-key');
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const token = adminToken();
const port = process.env.BERTH_PORT ?? '8080';
const base = `http://127.0.0.1:${port}`;
const children = [];

/** `essential`: its exit stops everything. The agent is not: without it the API still answers and
 * deployments wait, queued with their reason, for a worker. */
function run(name, script, env, essential) {
  const child = spawn(process.execPath, [...nodeFlags, path.join(repoRoot, script)], { env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (essential) {
      say(`${name} exited (${signal ?? code}); stopping`);
      shutdown(code ?? 1);
    } else {
      say(`${name} exited (${signal ?? code}); the control plane keeps running without a local worker (is a Docker Engine reachable? see the log above)`);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 5000).unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function api(pathname, init = {}) {
  const res = await fetch(base + pathname, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  return res;
}

async function waitHealthy(deadlineMs) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the control plane did not answer ${base}/healthz within ${deadlineMs / 1000} s`);
}

async function localWorkerToken() {
  const file = path.join(dataDir, 'local-worker.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    if ((await api(`/api/workers/${saved.id}`)).ok) return saved.token;
  }
  const res = await api('/api/workers', { method: 'POST', body: JSON.stringify({ name: 'local' }) });
  if (!res.ok) throw new Error(`could not register the local worker: ${res.status} ${await res.text()}`);
  const worker = await res.json();
  writeFileSync(file, JSON.stringify(worker), { mode: 0o600 });
  return worker.token;
}

run('control plane', 'dist/apps/control-plane/src/main.js', { BERTH_ADMIN_TOKEN: token, BERTH_SECRET_KEY: secretKey() }, true);
try {
  await waitHealthy(60_000);
  const workerToken = await localWorkerToken();
  run('worker agent', 'dist/apps/worker-agent/src/main.js', { BERTH_WORKER_TOKEN: workerToken, BERTH_URL: base }, false);
  say(`Berth is up: API ${base}/api (Swagger UI ${base}/api/docs). Admin token: ${token}`);
} catch (err) {
  say(String(err.message ?? err));
  shutdown(1);
}
