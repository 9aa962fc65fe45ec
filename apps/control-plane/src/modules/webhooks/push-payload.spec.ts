import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_PROVIDERS, type WebhookProvider } from '@berth/contracts';
import { referencePayload } from '../../../../../test/support/webhook-fixtures';
import { decideDelivery, deliveryIdOf, parseDelivery, type Decision } from './push-payload';

/** Given a real payload as its host sends it, when the app follows `branch`, then this decision. */
const CASES: { name: string; provider: WebhookProvider; file: string; headers: Record<string, string>; branch: string; then: Decision }[] = [
  {
    name: 'GitHub push to the app’s branch deploys `after`',
    provider: 'github',
    file: 'github-push.json',
    headers: { 'x-github-event': 'push' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: 'fd489864e7642b48eaad6e3f155c10e46810ec72' },
  },
  {
    name: 'GitHub push creating the branch deploys its first commit',
    provider: 'github',
    file: 'github-push-new-branch.json',
    headers: { 'x-github-event': 'push' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' },
  },
  {
    name: 'GitHub push to another branch is ignored',
    provider: 'github',
    file: 'github-push.json',
    headers: { 'x-github-event': 'push' },
    branch: 'main',
    then: { action: 'ignore', reason: 'push to branch master; only pushes to branch main deploy', branch: 'master', commit: 'fd489864e7642b48eaad6e3f155c10e46810ec72' },
  },
  {
    name: 'GitHub tag deletion is ignored',
    provider: 'github',
    file: 'github-push-tag-delete.json',
    headers: { 'x-github-event': 'push' },
    branch: 'master',
    then: { action: 'ignore', reason: 'tag push (simple-tag); only pushes to branch master deploy' },
  },
  {
    name: 'GitHub ping is ignored',
    provider: 'github',
    file: 'github-ping.json',
    headers: { 'x-github-event': 'ping' },
    branch: 'master',
    then: { action: 'ignore', reason: 'ping: the webhook is set up; pushes to the app’s branch will deploy' },
  },
  {
    name: 'Gitea push deploys `after`',
    provider: 'gitea',
    file: 'gitea-push.json',
    headers: { 'x-gitea-event': 'push' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: '67b56589a45103f891bdee7c0546e5d40bc02001' },
  },
  {
    name: 'Forgejo push (X-Forgejo-Event) deploys `after`',
    provider: 'forgejo',
    file: 'gitea-push.json',
    headers: { 'x-forgejo-event': 'push' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: '67b56589a45103f891bdee7c0546e5d40bc02001' },
  },
  {
    name: 'Codeberg push of a Gogs-shaped payload deploys `after`',
    provider: 'codeberg',
    file: 'gogs-push.json',
    headers: { 'x-gitea-event': 'push' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: '0a05129851238652bf806a400af89fa974ade739' },
  },
  {
    name: 'GitLab Push Hook deploys `after`',
    provider: 'gitlab',
    file: 'gitlab-push.json',
    headers: { 'x-gitlab-event': 'Push Hook' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7' },
  },
  {
    name: 'GitLab Push Hook (real anonymised delivery) deploys `after`',
    provider: 'gitlab',
    file: 'gitlab-push-2.json',
    headers: { 'x-gitlab-event': 'Push Hook' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: 'bb0748feaa336d841c251017e4e374c22d0c8a98' },
  },
  {
    name: 'GitLab merge request events do not deploy',
    provider: 'gitlab',
    file: 'gitlab-push.json',
    headers: { 'x-gitlab-event': 'Merge Request Hook' },
    branch: 'master',
    then: { action: 'ignore', reason: '"Merge Request Hook" events do not deploy; only pushes do' },
  },
  {
    name: 'Bitbucket Cloud repo:push deploys push.changes[].new.target.hash',
    provider: 'bitbucket',
    file: 'bitbucket-cloud-push.json',
    headers: { 'x-event-key': 'repo:push' },
    branch: 'name-of-branch',
    then: { action: 'deploy', branch: 'name-of-branch', commit: '709d658dc5b6d6afcd46049c2f332ee3f515a67d' },
  },
  {
    name: 'Bitbucket Data Center repo:refs_changed UPDATE deploys toHash',
    provider: 'bitbucket',
    file: 'bitbucket-server-push.json',
    headers: { 'x-event-key': 'repo:refs_changed' },
    branch: 'master',
    then: { action: 'deploy', branch: 'master', commit: '22671f0349857934857983457983475ec39f196b' },
  },
  {
    name: 'Bitbucket Data Center branch DELETE is ignored',
    provider: 'bitbucket',
    file: 'bitbucket-server-push-branch-delete.json',
    headers: { 'x-event-key': 'repo:refs_changed' },
    branch: 'feature/wip',
    then: { action: 'ignore', reason: 'branch feature/wip was deleted; nothing to deploy', branch: 'feature/wip' },
  },
  {
    name: 'Bitbucket diagnostics:ping is ignored',
    provider: 'bitbucket',
    file: 'bitbucket-cloud-push.json',
    headers: { 'x-event-key': 'diagnostics:ping' },
    branch: 'master',
    then: { action: 'ignore', reason: 'ping: the webhook is set up; pushes to the app’s branch will deploy' },
  },
];

describe('parseDelivery + decideDelivery over the real payloads', () => {
  it.each(CASES)('$name', ({ provider, file, headers, branch, then }) => {
    const parsed = parseDelivery(provider, { ...headers, 'x-github-delivery': 'd-1' }, referencePayload(file));
    if ('error' in parsed) throw new Error(parsed.error);
    expect(decideDelivery(parsed, branch)).toEqual(then);
  });

  it('a GitHub branch deletion (deleted: true, after all zeros) is ignored', () => {
    const body = JSON.parse(referencePayload('github-push.json').toString('utf8'));
    Object.assign(body, { deleted: true, after: '0'.repeat(40) });
    const parsed = parseDelivery('github', { 'x-github-event': 'push' }, Buffer.from(JSON.stringify(body)));
    if ('error' in parsed) throw new Error(parsed.error);
    expect(decideDelivery(parsed, 'master')).toEqual({ action: 'ignore', reason: 'branch master was deleted; nothing to deploy', branch: 'master' });
  });

  it('a GitLab Tag Push Hook is ignored', () => {
    const body = JSON.parse(referencePayload('gitlab-push.json').toString('utf8'));
    body.ref = 'refs/tags/v1.0.0';
    const parsed = parseDelivery('gitlab', { 'x-gitlab-event': 'Tag Push Hook' }, Buffer.from(JSON.stringify(body)));
    if ('error' in parsed) throw new Error(parsed.error);
    expect(decideDelivery(parsed, 'master')).toMatchObject({ action: 'ignore', reason: 'tag push (v1.0.0); only pushes to branch master deploy' });
  });

  it('a Bitbucket Cloud branch deletion (new: null) is ignored', () => {
    const body = JSON.parse(referencePayload('bitbucket-cloud-push.json').toString('utf8'));
    body.push.changes[0].new = null;
    const parsed = parseDelivery('bitbucket', { 'x-event-key': 'repo:push' }, Buffer.from(JSON.stringify(body)));
    if ('error' in parsed) throw new Error(parsed.error);
    expect(decideDelivery(parsed, 'name-of-branch')).toMatchObject({ action: 'ignore', reason: 'branch name-of-branch was deleted; nothing to deploy' });
  });

  it('reads a GitHub push sent as application/x-www-form-urlencoded (payload=<json>)', () => {
    const form = Buffer.from(new URLSearchParams({ payload: referencePayload('github-push.json').toString('utf8') }).toString());
    const parsed = parseDelivery('github', { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded' }, form);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(decideDelivery(parsed, 'master')).toEqual({ action: 'deploy', branch: 'master', commit: 'fd489864e7642b48eaad6e3f155c10e46810ec72' });
  });

  it('refuses bodies that are not the JSON the event promises', () => {
    expect(parseDelivery('github', {}, Buffer.from('{}'))).toEqual({ error: 'missing event header (x-github-event)' });
    expect(parseDelivery('github', { 'x-github-event': 'push' }, Buffer.from('not json'))).toEqual({ error: 'the body is not a JSON object' });
    expect(parseDelivery('github', { 'x-github-event': 'push' }, Buffer.from('[1]'))).toEqual({ error: 'the body is not a JSON object' });
    expect(parseDelivery('github', { 'x-github-event': 'push' }, Buffer.from('{"ref":"main"}'))).toMatchObject({ error: expect.stringContaining('names no ref') });
    expect(parseDelivery('gitea', { 'x-gitea-event': 'push' }, Buffer.from('{"ref":"refs/heads/main","after":"HEAD; rm -rf /"}'))).toMatchObject({
      error: expect.stringContaining('is not a sha'),
    });
  });
});

describe('delivery ids', () => {
  it('reads each provider’s header, and names a delivery without one by its body', () => {
    const body = Buffer.from('{}');
    expect(deliveryIdOf('github', { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }, body)).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(deliveryIdOf('forgejo', { 'x-forgejo-delivery': 'f', 'x-gitea-delivery': 'g' }, body)).toBe('f');
    expect(deliveryIdOf('gitea', { 'x-gitea-delivery': 'g' }, body)).toBe('g');
    expect(deliveryIdOf('gitlab', { 'x-gitlab-event-uuid': 'e' }, body)).toBe('e');
    expect(deliveryIdOf('gitlab', { 'idempotency-key': 'k', 'x-gitlab-event-uuid': 'e' }, body)).toBe('k');
    expect(deliveryIdOf('bitbucket', { 'x-request-uuid': 'u' }, body)).toBe('u');
    expect(deliveryIdOf('bitbucket', { 'x-request-id': 'r' }, body)).toBe('r');
    expect(deliveryIdOf('github', {}, body)).toBe(deliveryIdOf('github', {}, Buffer.from('{}')));
    expect(deliveryIdOf('github', {}, body)).toMatch(/^body-[0-9a-f]{40}$/);
    expect(deliveryIdOf('github', { 'x-github-delivery': 'has spaces/and slashes' }, body)).toMatch(/^id-[0-9a-f]{40}$/);
  });

  it('parsing never throws and a delivery id is always stream-safe (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<WebhookProvider>(...WEBHOOK_PROVIDERS),
        fc.dictionary(fc.constantFrom('x-github-event', 'x-gitea-event', 'x-gitlab-event', 'x-event-key', 'x-github-delivery', 'x-request-uuid'), fc.string()),
        fc.oneof(fc.json(), fc.string()).map((s) => Buffer.from(s)),
        fc.string(),
        (provider, headers, body, branch) => {
          const parsed = parseDelivery(provider, headers, body);
          if ('error' in parsed) return;
          expect(parsed.deliveryId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
          const decision = decideDelivery(parsed, branch);
          if (decision.action === 'deploy') expect(decision.commit).toMatch(/^[0-9a-f]{40,64}$/);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
