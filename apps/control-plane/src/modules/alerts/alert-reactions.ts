import { Injectable, Logger } from '@nestjs/common';
import { APP_DELETED_REASON, streamIds, type AlertKind, type BerthEvent } from '@berth/contracts';
import { CRASHLOOP_EXITS, CRASHLOOP_WINDOW_MS } from '@berth/core';
import { EventStore, type StoredEvent } from '@berth/event-store';
import { createHash } from 'node:crypto';
import { DomainError, ErrorCode } from '../../common/errors';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { alertRuleDecider, type EdgeCause } from './alert-rules.decider';
import { AlertsRepository } from './alerts.repository';

const ACTOR = 'system:alert-reactions';
/** How long a reaction waits for the read models to reach its event before it is retried. */
const CATCH_UP_MS = 60_000;

/**
 * Event-driven kinds "skip the threshold check and fire/resolve directly off the underlying state
 * change" (seed 6):
 * - offline: AppStopped (worker_offline) fires, AppRestored resolves;
 * - deployment_failed: JobFailed fires, the app's next JobSucceeded resolves;
 * - crashloop: the ContainerExited that makes CRASHLOOP_EXITS within CRASHLOOP_WINDOW_MS fires (the
 *   poller resolves it once the app stayed up; it also fires it, should this reaction lag);
 * - AppDeleted deletes the app's rules (an open incident is resolved without notifications).
 * At least once is enough: each edge carries its cause's log position and the rule's decider ignores a
 * cause at or before the last one it acted on; the incident id is derived from (cause, rule).
 */
@Injectable()
export class AlertReactions {
  readonly name = 'alerts';
  readonly handles = ['AppStopped', 'AppRestored', 'JobFailed', 'JobSucceeded', 'ContainerExited', 'AppDeleted'];
  private readonly logger = new Logger('alert-reactions');

  constructor(
    private readonly repo: AlertsRepository,
    private readonly streams: StreamHandler,
    private readonly store: EventStore,
    private readonly projections: Projections,
  ) {}

  async handle(stored: StoredEvent): Promise<void> {
    const event = stored as unknown as BerthEvent;
    const cause: EdgeCause = { transactionId: stored.transactionId, position: stored.position };
    // The rules and exits read models reach the event first: every rule made before it is seen.
    await this.projections.waitFor(cause, CATCH_UP_MS);
    const at = stored.occurredAt;
    const existing = (appId: string, kind: AlertKind) => this.repo.ruleIdsOf(appId, kind, at);
    switch (event.type) {
      case 'AppStopped':
        if (event.data.reason === 'worker_offline') await this.edge('fire', await existing(event.data.appId, 'offline'), event.data.appId, 'offline', cause, at);
        return;
      case 'AppRestored':
        await this.edge('resolve', await existing(event.data.appId, 'offline'), event.data.appId, 'offline', cause, at);
        return;
      case 'JobFailed': {
        if (event.data.reason === APP_DELETED_REASON) return;
        const appId = await this.appOfDeployment(event.data.deploymentId);
        if (appId) await this.edge('fire', await existing(appId, 'deployment_failed'), appId, 'deployment_failed', cause, at);
        return;
      }
      case 'JobSucceeded': {
        const appId = await this.appOfDeployment(event.data.deploymentId);
        if (appId) await this.edge('resolve', await existing(appId, 'deployment_failed'), appId, 'deployment_failed', cause, at);
        return;
      }
      case 'ContainerExited': {
        const exitAt = new Date(event.data.at);
        const recorded = await this.repo.exitsSince([event.data.appId], new Date(exitAt.getTime() - CRASHLOOP_WINDOW_MS));
        const upToThis = (recorded.get(event.data.appId) ?? []).filter((d) => d.getTime() <= exitAt.getTime());
        // The exit projector may not have recorded this one yet; count it once either way.
        const count = upToThis.length + (upToThis.some((d) => d.getTime() === exitAt.getTime()) ? 0 : 1);
        if (count >= CRASHLOOP_EXITS) await this.edge('fire', await existing(event.data.appId, 'crashloop'), event.data.appId, 'crashloop', cause, exitAt, count);
        return;
      }
      case 'AppDeleted':
        // A deleted app's rules go with it; an open incident is resolved without notifications.
        for (const ruleId of await this.repo.allRuleIdsOf(event.data.appId)) {
          await this.streams
            .handle(streamIds.alertRule(ruleId), 'alertrule', alertRuleDecider, { type: 'DeleteRule' }, { actor: ACTOR }, { waitForProjections: false })
            .catch((err: unknown) => {
              if (!(err instanceof DomainError && err.code === ErrorCode.NotFound)) throw err; // deleted before: seen twice
            });
        }
        return;
      default:
        return;
    }
  }

  private async edge(what: 'fire' | 'resolve', ruleIds: string[], appId: string, kind: AlertKind, cause: EdgeCause, at: Date, value?: number): Promise<void> {
    for (const ruleId of ruleIds) {
      const command =
        what === 'fire'
          ? { type: 'Fire' as const, incidentId: incidentIdOf(cause, ruleId), at, value, cause }
          : { type: 'Resolve' as const, at, cause };
      const { appended } = await this.streams.handle(streamIds.alertRule(ruleId), 'alertrule', alertRuleDecider, command, { actor: ACTOR }, { waitForProjections: false });
      if (appended.length > 0) this.logger.log({ ruleId, appId, kind, edge: what, msg: `alert ${what === 'fire' ? 'fired' : 'resolved'}` });
    }
  }

  /** A deployment's app, from its own stream's first event (DeploymentRequested). */
  private async appOfDeployment(deploymentId: string): Promise<string | undefined> {
    const [first] = await this.store.readStream(streamIds.deployment(deploymentId));
    const data = first?.data as { appId?: string } | undefined;
    return data?.appId;
  }
}

/** The same incident id for the same (cause, rule), however often the cause is seen. */
function incidentIdOf(cause: EdgeCause, ruleId: string): string {
  const h = createHash('sha256').update(`${cause.transactionId}:${cause.position}:${ruleId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
