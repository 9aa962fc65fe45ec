import { CreateEventStore1700000000000 } from './1700000000000-CreateEventStore';
import { CreateReadModelsAndTelemetry1700000000001 } from './1700000000001-CreateReadModelsAndTelemetry';
import { CreateWebhookSecrets1700000000200 } from './1700000000200-CreateWebhookSecrets';

/** Every migration, in order. The schema changes only through these. */
export const migrations = [CreateEventStore1700000000000, CreateReadModelsAndTelemetry1700000000001, CreateWebhookSecrets1700000000200];
