import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadControlPlaneConfig } from '@berth/config';
import pino from 'pino';
import { AppModule } from '../app.module';
import { Projections } from '../database/projections.service';

/** `npm run projections:rebuild`: truncates every read model and replays the whole event log into it. */
async function main() {
  const log = pino({ name: 'projections:rebuild' });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(loadControlPlaneConfig(), 'maintenance'), { logger: false });
  const started = performance.now();
  await app.get(Projections).rebuild();
  log.info({ ms: Math.round(performance.now() - started) }, 'read models rebuilt from the event log');
  await app.close();
}

main().catch((err) => {
  pino({ name: 'projections:rebuild' }).fatal({ err }, 'rebuild failed');
  process.exit(1);
});
