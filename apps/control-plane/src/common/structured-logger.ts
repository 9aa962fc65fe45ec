import type { Logger as NestLogger } from '@nestjs/common';
import type { Logger } from '@berth/core';

/** @berth/core's `(fields, message)` Logger, backed by a Nest logger (pino): for the event store and background loops. */
export function structuredLogger(logger: NestLogger): Logger {
  return {
    debug: (o, m) => logger.debug({ ...o, msg: m }),
    info: (o, m) => logger.log({ ...o, msg: m }),
    warn: (o, m) => logger.warn({ ...o, msg: m }),
    error: (o, m) => logger.error({ ...o, msg: m }),
  };
}
