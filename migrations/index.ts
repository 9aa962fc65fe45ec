import { CreateEventStore1700000000000 } from './1700000000000-CreateEventStore';
import { CreateReadModelsAndTelemetry1700000000001 } from './1700000000001-CreateReadModelsAndTelemetry';
import { ModuleOwnedReadModels1700000000010 } from './1700000000010-ModuleOwnedReadModels';
import { CreateRoutingAndDomains1700000000100 } from './1700000000100-CreateRoutingAndDomains';
import { CreateWebhookSecrets1700000000200 } from './1700000000200-CreateWebhookSecrets';
import { CreateAlertsAndUsage1700000000300 } from './1700000000300-CreateAlertsAndUsage';
import { UsageCoveringKey1700000000301 } from './1700000000301-UsageCoveringKey';
import { UsageDays1700000000302 } from './1700000000302-UsageDays';
import { RuntimeLogs1700000000400 } from './1700000000400-RuntimeLogs';

/** Every migration, in order. The schema changes only through these. */
export const migrations = [
  CreateEventStore1700000000000,
  CreateReadModelsAndTelemetry1700000000001,
  ModuleOwnedReadModels1700000000010,
  CreateRoutingAndDomains1700000000100,
  CreateWebhookSecrets1700000000200,
  CreateAlertsAndUsage1700000000300,
  UsageCoveringKey1700000000301,
  UsageDays1700000000302,
  RuntimeLogs1700000000400,
];
