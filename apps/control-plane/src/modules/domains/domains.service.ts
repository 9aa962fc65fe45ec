import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { streamIds } from '@berth/contracts';
import { isUuid } from '@berth/core';
import type { EventMetadata, ExpectedVersion } from '@berth/event-store';
import { randomBytes } from 'node:crypto';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { appDecider } from '../apps/apps.decider';
import { validateHostname } from '../routing/hostname';
import { challengeName, domainDecider, domainNameDecider, type DomainStatus } from './domains.decider';
import { DomainsRepository, type DomainRow } from './domains.repository';
import { TXT_RESOLVER } from './domains.tokens';
import type { TxtResolver } from './dns-txt-resolver';
import { domainsProjector } from './projections/domains.projector';

export interface DomainView {
  id: string;
  appId: string;
  hostname: string;
  verified: boolean;
  status: Exclude<DomainStatus, 'none' | 'removed'>;
  /** Why a verified domain was unrouted. */
  reason?: string;
  verification: { type: 'TXT'; name: string; value: string };
  createdAt: string;
}

const expected = (version: number): ExpectedVersion => (version === 0 ? 'no_stream' : version);
const MAX_ATTEMPTS = 5;

function toView(row: DomainRow): DomainView {
  return {
    id: row.id,
    appId: row.app_id,
    hostname: row.hostname,
    verified: row.status === 'verified',
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    verification: { type: 'TXT', name: challengeName(row.hostname), value: row.token },
    createdAt: row.created_at.toISOString(),
  };
}

/** Custom domains: add (claiming the hostname), verify by DNS TXT, re-check, remove. */
@Injectable()
export class DomainsService implements OnModuleInit {
  private readonly logger = new Logger('domains');

  constructor(
    private readonly repository: DomainsRepository,
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
    @Inject(TXT_RESOLVER) private readonly dns: TxtResolver,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  onModuleInit(): void {
    this.projections.register(domainsProjector);
  }

  /**
   * DomainNameClaimed (stream domainname-<hostname>) and DomainAdded (stream domain-<id>) in one append,
   * checked against the app's stream version, so a deleted app never gains a domain.
   */
  async add(appId: string, input: unknown, meta: RequestMeta): Promise<DomainView> {
    const checked = validateHostname(input);
    if (!checked.ok) throw new DomainError(ErrorCode.InvalidInput, checked.message);
    const hostname = checked.hostname;
    if (!isUuid(appId)) throw notFound('app', appId);
    const domainId = this.ids.newId();
    const token = randomBytes(24).toString('base64url');
    await this.streams.handleMany(async () => {
      const app = await this.streams.load(streamIds.app(appId), appDecider);
      if (app.state.status !== 'active') throw notFound('app', appId);
      const name = await this.streams.load(streamIds.domainName(hostname), domainNameDecider);
      const holderGone = name.state.holder !== null && (await this.appIsGone(name.state.holder.appId));
      const now = this.clock.now();
      return [
        { streamId: streamIds.app(appId), streamType: 'app', expectedVersion: app.version, events: [] },
        {
          streamId: streamIds.domainName(hostname),
          streamType: 'domainname',
          expectedVersion: expected(name.version),
          events: domainNameDecider.decide({ type: 'ClaimDomainName', hostname, domainId, appId, holderGone }, name.state, now),
        },
        {
          streamId: streamIds.domain(domainId),
          streamType: 'domain',
          expectedVersion: 'no_stream',
          events: domainDecider.decide({ type: 'AddDomain', domainId, appId, hostname, token }, domainDecider.initialState(), now),
        },
      ];
    }, this.metadata(meta), { maxAttempts: MAX_ATTEMPTS });
    return this.get(domainId);
  }

  async listForApp(appId: string): Promise<DomainView[]> {
    if (!isUuid(appId) || (await this.appIsGone(appId))) throw notFound('app', appId);
    return (await this.repository.listForApp(appId)).map(toView);
  }

  async get(domainId: string): Promise<DomainView> {
    if (!isUuid(domainId)) throw notFound('domain', domainId);
    const row = await this.repository.get(domainId);
    if (!row) throw notFound('domain', domainId);
    return toView(row);
  }

  /** Looks the TXT record up and appends DomainVerified, or answers what it found instead. */
  async verify(domainId: string, meta: RequestMeta): Promise<DomainView> {
    const domain = await this.get(domainId);
    const lookup = await this.dns.lookupTxt(challengeName(domain.hostname));
    await this.streams.handle(streamIds.domain(domainId), 'domain', domainDecider, { type: 'VerifyDomain', lookup }, this.metadata(meta), {
      ifMissing: () => notFound('domain', domainId),
    });
    return this.get(domainId);
  }

  /** DomainRemoved and the hostname released, in one append. */
  async remove(domainId: string, meta: RequestMeta): Promise<void> {
    if (!isUuid(domainId)) throw notFound('domain', domainId);
    await this.streams.handleMany(async () => {
      const domain = await this.streams.load(streamIds.domain(domainId), domainDecider);
      if (domain.version === 0) throw notFound('domain', domainId);
      const now = this.clock.now();
      const removed = domainDecider.decide({ type: 'RemoveDomain' }, domain.state, now);
      const hostname = domain.state.hostname!;
      const name = await this.streams.load(streamIds.domainName(hostname), domainNameDecider);
      const released = domainNameDecider.decide({ type: 'ReleaseDomainName', hostname, domainId }, name.state, now);
      return [
        { streamId: streamIds.domain(domainId), streamType: 'domain', expectedVersion: domain.version, events: removed },
        ...(released.length > 0 ? [{ streamId: streamIds.domainName(hostname), streamType: 'domainname', expectedVersion: expected(name.version), events: released }] : []),
      ];
    }, this.metadata(meta), { maxAttempts: MAX_ATTEMPTS });
  }

  /**
   * Looks up every verified domain's record again; a domain whose record is gone or changed is
   * unrouted (DomainUnrouted says why). A DNS failure unroutes nothing. Returns how many were unrouted.
   */
  async recheckVerified(): Promise<{ checked: number; unrouted: number }> {
    const rows = await this.repository.listVerified();
    let unrouted = 0;
    for (const row of rows) {
      const lookup = await this.dns.lookupTxt(challengeName(row.hostname));
      if (lookup.kind === 'error') this.logger.warn({ hostname: row.hostname, detail: lookup.detail, msg: 'could not re-check a domain; it stays routed' });
      const handled = await this.streams.handle(
        streamIds.domain(row.id),
        'domain',
        domainDecider,
        { type: 'RecheckDomain', lookup },
        { actor: 'system:domain-recheck' },
        { waitForProjections: false },
      );
      if (handled.appended.length > 0) {
        unrouted++;
        this.logger.warn({ hostname: row.hostname, reason: (handled.appended[0].data as { reason: string }).reason, msg: 'domain unrouted' });
      }
    }
    return { checked: rows.length, unrouted };
  }

  /** Whether the app's own stream says it was deleted (or it never existed). */
  private async appIsGone(appId: string): Promise<boolean> {
    const app = await this.streams.load(streamIds.app(appId), appDecider);
    return app.state.status !== 'active';
  }

  private metadata(meta: RequestMeta): EventMetadata {
    return { actor: meta.actor, correlationId: meta.correlationId };
  }
}
