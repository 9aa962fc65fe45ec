import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { streamIds, type AlertKind, type AlertRuleSettings } from '@berth/contracts';
import { isUuid } from '@berth/core';
import { ID_GENERATOR, type IdGenerator } from '../../common/clock';
import { notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { AppsService } from '../apps/apps.service';
import { alertRuleDecider, type AlertRuleCommand, type AlertRulePatch } from './alert-rules.decider';
import { AlertsRepository, type AlertRuleView, type IncidentView } from './alerts.repository';
import type { CreateAlertRuleDto, UpdateAlertRuleDto } from './dto/alert-rule.dto';
import { alertAppsProjector } from './projections/alert-apps.projector';
import { alertOutboxProjector } from './projections/alert-outbox.projector';
import { alertRulesProjector } from './projections/alert-rules.projector';

/** Per-app alert rules (stream alertrule-<id>) and their incidents. */
@Injectable()
export class AlertsService implements OnModuleInit {
  constructor(
    private readonly repo: AlertsRepository,
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
    private readonly apps: AppsService,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  onModuleInit(): void {
    this.projections.register(alertRulesProjector);
    this.projections.register(alertAppsProjector);
    this.projections.register(alertOutboxProjector);
  }

  async createRule(appId: string, dto: CreateAlertRuleDto, meta: RequestMeta): Promise<AlertRuleView> {
    await this.apps.get(appId);
    const ruleId = this.ids.newId();
    const settings: AlertRuleSettings = {
      kind: dto.kind as AlertKind,
      threshold: dto.threshold,
      sustainMinutes: dto.sustainMinutes,
      enabled: dto.enabled ?? true,
      channels: dto.channels ?? [],
    };
    await this.execute(ruleId, { type: 'CreateRule', ruleId, appId, settings }, meta);
    return (await this.repo.getRule(ruleId))!;
  }

  async listRules(appId: string): Promise<AlertRuleView[]> {
    await this.apps.get(appId);
    return this.repo.listRules(appId);
  }

  async updateRule(ruleId: string, dto: UpdateAlertRuleDto, meta: RequestMeta): Promise<AlertRuleView> {
    await this.execute(ruleId, { type: 'ChangeRule', patch: dto as AlertRulePatch }, meta);
    const rule = await this.repo.getRule(ruleId);
    if (!rule) throw notFound('alert rule', ruleId);
    return rule;
  }

  async removeRule(ruleId: string, meta: RequestMeta): Promise<void> {
    await this.execute(ruleId, { type: 'DeleteRule' }, meta);
  }

  async incidents(appId: string): Promise<IncidentView[]> {
    await this.apps.get(appId);
    return this.repo.incidents(appId);
  }

  private async execute(ruleId: string, command: AlertRuleCommand, meta: RequestMeta): Promise<void> {
    if (!isUuid(ruleId)) throw notFound('alert rule', ruleId);
    await this.streams.handle(
      streamIds.alertRule(ruleId),
      'alertrule',
      alertRuleDecider,
      command,
      { actor: meta.actor, correlationId: meta.correlationId },
      command.type === 'CreateRule' ? {} : { ifMissing: () => notFound('alert rule', ruleId) },
    );
  }
}
