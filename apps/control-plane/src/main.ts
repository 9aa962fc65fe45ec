import { loadControlPlaneConfig } from '@berth/config';
import pino from 'pino';
import { createControlPlane } from './bootstrap';

async function main() {
  const config = loadControlPlaneConfig();
  const app = await createControlPlane(config);
  await app.listen(config.port, config.host);
}

main().catch((err) => {
  pino({ name: 'control-plane' }).fatal({ err }, 'control plane failed to start');
  process.exit(1);
});
