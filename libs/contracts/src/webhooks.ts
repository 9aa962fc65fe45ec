/** Git hosts whose push webhooks Berth verifies: POST /api/webhooks/:provider/:appId. */
export const WEBHOOK_PROVIDERS = ['github', 'codeberg', 'gitea', 'forgejo', 'gitlab', 'bitbucket'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export const isWebhookProvider = (p: string): p is WebhookProvider => (WEBHOOK_PROVIDERS as readonly string[]).includes(p);

/** The URL to paste into each provider's webhook settings for one app. */
export function webhookUrls(publicUrl: string, appId: string): Record<WebhookProvider, string> {
  const base = publicUrl.replace(/\/+$/, '');
  return Object.fromEntries(WEBHOOK_PROVIDERS.map((p) => [p, `${base}/api/webhooks/${p}/${appId}`])) as Record<WebhookProvider, string>;
}
