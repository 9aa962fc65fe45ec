/**
 * What a verified delivery says: which event, which delivery, and for a push which refs moved to which
 * commits. Then, against the app's branch, whether to deploy and at which commit. Pure, never throws.
 *
 * Where each host puts it (their documentation, and the real payloads in shared/reference/webhooks):
 * - GitHub `X-GitHub-Event: push|ping`, delivery `X-GitHub-Delivery`; push: `ref`, `after`, `deleted`.
 * - Gitea / Forgejo / Codeberg `X-Gitea-Event` / `X-Forgejo-Event: push`, delivery `X-Gitea-Delivery` /
 *   `X-Forgejo-Delivery`; push: `ref`, `after` (all zeros when the ref was deleted).
 * - GitLab `X-Gitlab-Event: Push Hook|Tag Push Hook`, delivery `Idempotency-Key` / `X-Gitlab-Event-UUID`;
 *   push: `ref`, `after` (all zeros when deleted; `checkout_sha` null).
 * - Bitbucket `X-Event-Key`: Cloud `repo:push` with `push.changes[].new` (null when deleted:
 *   `{type: 'branch'|'tag', name, target.hash}`), Data Center `repo:refs_changed` with `changes[]`
 *   (`{ref: {displayId, type: BRANCH|TAG}, toHash, type: ADD|UPDATE|DELETE}`), `diagnostics:ping`;
 *   delivery `X-Request-UUID` (Cloud) / `X-Request-Id` (Data Center).
 */
import { createHash } from 'node:crypto';
import type { WebhookProvider } from '@berth/contracts';
import type { RawHeaders } from './webhook-verify';

/** A ref a push moved; `commit` null: the ref was deleted. */
export interface RefChange {
  refType: 'branch' | 'tag';
  name: string;
  commit: string | null;
}

export type Payload =
  | { kind: 'ping' }
  | { kind: 'push'; changes: RefChange[] }
  /** Any other event the host was told to send (issues, merge requests, …). */
  | { kind: 'other' };

export interface Delivery {
  /** The provider's event name, as its header gave it. */
  event: string;
  /** The provider's delivery id, or one derived from the body when the host sent none. */
  deliveryId: string;
  payload: Payload;
}

export type Decision =
  | { action: 'deploy'; branch: string; commit: string }
  | { action: 'ignore'; reason: string; branch?: string; commit?: string };

const ZERO_SHA = /^0+$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SAFE_DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function header(headers: RawHeaders, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = headers[n];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

const EVENT_HEADERS: Record<WebhookProvider, string[]> = {
  github: ['x-github-event'],
  gitea: ['x-gitea-event'],
  codeberg: ['x-forgejo-event', 'x-gitea-event'],
  forgejo: ['x-forgejo-event', 'x-gitea-event'],
  gitlab: ['x-gitlab-event'],
  bitbucket: ['x-event-key'],
};

const DELIVERY_HEADERS: Record<WebhookProvider, string[]> = {
  github: ['x-github-delivery'],
  gitea: ['x-gitea-delivery'],
  codeberg: ['x-forgejo-delivery', 'x-gitea-delivery'],
  forgejo: ['x-forgejo-delivery', 'x-gitea-delivery'],
  gitlab: ['idempotency-key', 'x-gitlab-event-uuid'],
  bitbucket: ['x-request-uuid', 'x-request-id'],
};

/**
 * The delivery id as a stream-name-safe string: the host's own when it is plain, else a digest of it;
 * with no header, a digest of the body (the same body sent twice is the same delivery).
 */
export function deliveryIdOf(provider: WebhookProvider, headers: RawHeaders, body: Buffer): string {
  const given = header(headers, ...DELIVERY_HEADERS[provider]);
  if (given !== undefined && SAFE_DELIVERY_ID.test(given)) return given;
  const digest = createHash('sha256');
  digest.update(given ?? body);
  return `${given === undefined ? 'body' : 'id'}-${digest.digest('hex').slice(0, 40)}`;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `refs/heads/x` or `refs/tags/x` and the new sha (null when deleted); undefined when it is neither. */
function refChange(ref: unknown, after: unknown, deleted = false): RefChange | undefined {
  const r = str(ref);
  const sha = str(after)?.toLowerCase();
  if (r === undefined) return undefined;
  const m = /^refs\/(heads|tags)\/(.+)$/.exec(r);
  if (!m) return undefined;
  const commit = deleted || sha === undefined || ZERO_SHA.test(sha) ? null : sha;
  return { refType: m[1] === 'heads' ? 'branch' : 'tag', name: m[2], commit };
}

function bitbucketCloud(body: Json): RefChange[] {
  const changes = obj(body.push)?.changes;
  if (!Array.isArray(changes)) return [];
  return changes.flatMap((c): RefChange[] => {
    const change = obj(c);
    const next = obj(change?.new);
    const old = obj(change?.old);
    const side = next ?? old;
    const type = str(side?.type);
    const name = str(side?.name);
    if (!name || !type) return [];
    const refType = type === 'tag' || type === 'annotated_tag' ? 'tag' : 'branch';
    return [{ refType, name, commit: next ? (str(obj(next.target)?.hash)?.toLowerCase() ?? null) : null }];
  });
}

function bitbucketDataCenter(body: Json): RefChange[] {
  const changes = body.changes;
  if (!Array.isArray(changes)) return [];
  return changes.flatMap((c): RefChange[] => {
    const change = obj(c);
    const ref = obj(change?.ref);
    const name = str(ref?.displayId);
    if (!change || !name) return [];
    const deleted = str(change.type) === 'DELETE';
    const sha = str(change.toHash)?.toLowerCase();
    return [{ refType: str(ref?.type) === 'TAG' ? 'tag' : 'branch', name, commit: deleted || !sha || ZERO_SHA.test(sha) ? null : sha }];
  });
}

/** The payload of an event the host named; `undefined` when the body is not the JSON it should be. */
function payloadOf(provider: WebhookProvider, event: string, body: Json): Payload | undefined {
  const single = (c: RefChange | undefined): Payload | undefined => (c ? { kind: 'push', changes: [c] } : undefined);
  switch (provider) {
    case 'github':
      if (event === 'ping') return { kind: 'ping' };
      return event === 'push' ? single(refChange(body.ref, body.after, body.deleted === true)) : { kind: 'other' };
    case 'gitea':
    case 'codeberg':
    case 'forgejo':
      return event === 'push' ? single(refChange(body.ref, body.after)) : { kind: 'other' };
    case 'gitlab':
      return event === 'Push Hook' || event === 'Tag Push Hook' ? single(refChange(body.ref, body.after)) : { kind: 'other' };
    case 'bitbucket':
      if (event === 'diagnostics:ping') return { kind: 'ping' };
      if (event === 'repo:push') return { kind: 'push', changes: bitbucketCloud(body) };
      if (event === 'repo:refs_changed') return { kind: 'push', changes: bitbucketDataCenter(body) };
      return { kind: 'other' };
    default:
      return undefined;
  }
}

/** Parses a delivery whose signature verified; `{error}` when the body is not the JSON the event promises. */
export function parseDelivery(provider: WebhookProvider, headers: RawHeaders, body: Buffer): Delivery | { error: string } {
  const event = header(headers, ...EVENT_HEADERS[provider]);
  if (event === undefined) return { error: `missing event header (${EVENT_HEADERS[provider].join(' or ')})` };
  const deliveryId = deliveryIdOf(provider, headers, body);
  let json: Json | undefined;
  try {
    // GitHub and Gitea can also send `application/x-www-form-urlencoded` with the JSON in `payload`.
    const form = String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    json = obj(JSON.parse(form ? (new URLSearchParams(body.toString('utf8')).get('payload') ?? '') : body.toString('utf8')));
  } catch {
    json = undefined;
  }
  if (json === undefined) return { error: 'the body is not a JSON object' };
  const payload = payloadOf(provider, event, json);
  if (payload === undefined) return { error: `the ${event} payload names no ref (refs/heads/… or refs/tags/…)` };
  for (const c of payload.kind === 'push' ? payload.changes : []) {
    if (c.commit !== null && !SHA.test(c.commit)) return { error: `the ${event} payload's commit "${c.commit.slice(0, 80)}" is not a sha` };
  }
  return { event, deliveryId, payload };
}

/** Only a push that moved the app's branch to a commit deploys, at exactly that commit. */
export function decideDelivery(delivery: Delivery, appBranch: string): Decision {
  const { payload } = delivery;
  if (payload.kind === 'ping') return { action: 'ignore', reason: 'ping: the webhook is set up; pushes to the app’s branch will deploy' };
  if (payload.kind === 'other') return { action: 'ignore', reason: `"${delivery.event}" events do not deploy; only pushes do` };
  const mine = payload.changes.find((c) => c.refType === 'branch' && c.name === appBranch);
  if (mine?.commit) return { action: 'deploy', branch: mine.name, commit: mine.commit };
  if (mine) return { action: 'ignore', reason: `branch ${appBranch} was deleted; nothing to deploy`, branch: mine.name };
  if (payload.changes.length > 0 && payload.changes.every((c) => c.refType === 'tag')) {
    const first = payload.changes[0];
    return { action: 'ignore', reason: `tag push (${first.name}); only pushes to branch ${appBranch} deploy`, commit: first.commit ?? undefined };
  }
  const other = payload.changes.find((c) => c.refType === 'branch');
  if (!other) return { action: 'ignore', reason: 'the push moved no branch' };
  return { action: 'ignore', reason: `push to branch ${other.name}; only pushes to branch ${appBranch} deploy`, branch: other.name, commit: other.commit ?? undefined };
}
