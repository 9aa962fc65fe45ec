import { loadControlPlaneConfig } from '@berth/config';
import pino from 'pino';
import { migrate } from '../database/data-source';

const log = pino({ name: 'migrate' });
migrate(loadControlPlaneConfig().databaseUrl)
  .then((ran) => log.info({ ran }, ran.length ? `applied ${ran.length} migration(s)` : 'schema is up to date'))
  .catch((err) => {
    log.fatal({ err }, 'migration failed');
    process.exit(1);
  });
