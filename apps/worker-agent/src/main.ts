/** The worker agent process: `npm run agent` (node, with the flags of scripts/node-flags.json, on dist/apps/worker-agent/src/main.js). */
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
  // The agent runs until it is told to stop. Its clock's timers are unref'd, so without this the process
  // would end (code 0) whenever it holds no connection and no job — e.g. right after the control plane
  // closed its connection, while the reconnect timer is still pending.
  const keepAlive = setInterval(() => undefined, 60 * 60_000);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
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
