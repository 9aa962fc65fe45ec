import { DynamicModule, Module } from '@nestjs/common';
import type { ControlPlaneConfig } from '@berth/config';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BackgroundModule } from './common/background.module';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { LiveStatsModule } from './common/live-stats.module';
import { AlertsModule } from './modules/alerts/alerts.module';
import { AppsModule } from './modules/apps/apps.module';
import { AuthModule } from './modules/auth/auth.module';
import { DeployModule } from './modules/deploy/deploy.module';
import { DomainsModule } from './modules/domains/domains.module';
import { EventsModule } from './modules/events/events.module';
import { HealthModule } from './modules/health/health.module';
import { LogsModule } from './modules/logs/logs.module';
import { RoutingModule } from './modules/routing/routing.module';
import { SchedulerModule } from './modules/scheduler/scheduler.module';
import { StatsModule } from './modules/stats/stats.module';
import { WebhooksModule } from './modules/webhooks/webhooks.module';
import { UsageModule } from './modules/usage/usage.module';
import { WorkersModule } from './modules/workers/workers.module';

@Module({})
export class AppModule {
  /** `maintenance`: the read side only (no scheduler, no reactions), for one-off commands such as projections:rebuild. */
  static forRoot(config: ControlPlaneConfig, mode: 'serve' | 'maintenance' = 'serve'): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            name: 'control-plane',
            genReqId: (req: IncomingMessage) => {
              const given = req.headers['x-request-id'];
              return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
            },
            // Traefik polls its two endpoints every few seconds: a log line each would drown everything else.
            autoLogging: { ignore: (req: IncomingMessage) => req.url === '/healthz' || req.url === '/metrics' || req.url?.startsWith('/v1/traefik/') === true },
            redact: ['req.headers.authorization', 'req.headers["x-gitlab-token"]'],
          },
        }),
        DatabaseModule,
        BackgroundModule.forRoot({ runBackgroundWork: mode === 'serve' }),
        AuthModule,
        HealthModule,
        EventsModule,
        AppsModule,
        DeployModule,
        WorkersModule,
        RoutingModule,
        DomainsModule,
        WebhooksModule,
        LiveStatsModule,
        AlertsModule,
        UsageModule,
        ...(mode === 'serve' ? [SchedulerModule, StatsModule, LogsModule] : []),
      ],
    };
  }
}
