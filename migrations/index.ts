import { CreateEventStore1700000000000 } from './1700000000000-CreateEventStore';
import { CreateReadModelsAndTelemetry1700000000001 } from './1700000000001-CreateReadModelsAndTelemetry';
import { ModuleOwnedReadModels1700000000010 } from './1700000000010-ModuleOwnedReadModels';
import { CreateRoutingAndDomains1700000000100 } from './1700000000100-CreateRoutingAndDomains';

/** Every migration, in order. The schema changes only through these. */
export const migrations = [
  CreateEventStore1700000000000,
  CreateReadModelsAndTelemetry1700000000001,
  ModuleOwnedReadModels1700000000010,
  CreateRoutingAndDomains1700000000100,
];
