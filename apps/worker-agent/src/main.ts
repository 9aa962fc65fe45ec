/** The worker agent process: `node dist/apps/worker-agent/src/main.js`. */
import { loadAgentConfig } from '@berth/config';
import pino from 'pino';
import { startAgent } from './agent';
import { createLogger } from './logger';

async function main(): Promise<void> {
  let config;
  try {
    config = loadAgentConfig();
  } catch (err) {
    pino({ name: 'worker-agent' }).fatal({ err: (err as Error).message }, 'bad configuration');
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const agent = await startAgent(config, logger).catch((err: Error) => {
    logger.fatal({ err: err.message }, 'agent could not start');
    process.exit(1);
  });
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
