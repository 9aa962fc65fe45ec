/**
 * The real webhook payloads in ../shared/reference/webhooks/ (next to the repository, never copied
 * into it), and helpers to sign them as each provider does and re-point them at a test repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { WebhookProvider } from '@berth/contracts';

/** ../shared beside the repository root, found from here whether this runs from source or from dist/. */
function findReferenceDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.resolve(dir, '../shared/reference/webhooks');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no ../shared/reference/webhooks above ${__dirname}`);
  }
}
export const WEBHOOK_REFERENCE_DIR = findReferenceDir();

/** The file's exact bytes. */
export const referencePayload = (file: string): Buffer => readFileSync(path.join(WEBHOOK_REFERENCE_DIR, file));

export interface SignatureVectors {
  secret: string;
  github_docs_vector: { payload: string; 'X-Hub-Signature-256': string };
  [file: string]: unknown;
}
export const signatureVectors = (): SignatureVectors => JSON.parse(referencePayload('signature-vectors.json').toString('utf8'));

/** Each provider's real push payload and the headers it is sent with (signature added by the caller). */
export const PUSH_FIXTURES: Record<WebhookProvider, { file: string; eventHeaders: Record<string, string>; deliveryHeader: string }> = {
  github: { file: 'github-push.json', eventHeaders: { 'x-github-event': 'push' }, deliveryHeader: 'x-github-delivery' },
  gitea: { file: 'gitea-push.json', eventHeaders: { 'x-gitea-event': 'push' }, deliveryHeader: 'x-gitea-delivery' },
  codeberg: { file: 'gitea-push.json', eventHeaders: { 'x-forgejo-event': 'push', 'x-gitea-event': 'push' }, deliveryHeader: 'x-forgejo-delivery' },
  forgejo: { file: 'gitea-push.json', eventHeaders: { 'x-forgejo-event': 'push', 'x-gitea-event': 'push' }, deliveryHeader: 'x-forgejo-delivery' },
  gitlab: { file: 'gitlab-push.json', eventHeaders: { 'x-gitlab-event': 'Push Hook' }, deliveryHeader: 'x-gitlab-event-uuid' },
  bitbucket: { file: 'bitbucket-cloud-push.json', eventHeaders: { 'x-event-key': 'repo:push' }, deliveryHeader: 'x-request-uuid' },
};

type Json = Record<string, any>;

/**
 * The provider's real push payload with its repository, branch and new commit replaced: what that host
 * would send for a push of `commit` to `branch` of `repoUrl`.
 */
export function repointedPush(provider: WebhookProvider, target: { repoUrl: string; branch: string; commit: string }): Buffer {
  const body: Json = JSON.parse(referencePayload(PUSH_FIXTURES[provider].file).toString('utf8'));
  const ref = `refs/heads/${target.branch}`;
  if (provider === 'bitbucket') {
    const change = body.push.changes[0];
    change.new.name = target.branch;
    change.new.target.hash = target.commit;
    if (change.old) change.old.name = target.branch;
    body.repository.links.html.href = target.repoUrl;
  } else {
    body.ref = ref;
    body.after = target.commit;
    if (provider === 'gitlab') {
      body.checkout_sha = target.commit;
      body.repository.git_http_url = target.repoUrl;
      body.project.git_http_url = target.repoUrl;
    } else {
      body.repository.clone_url = target.repoUrl;
    }
    if (body.head_commit) body.head_commit.id = target.commit;
  }
  return Buffer.from(JSON.stringify(body));
}
