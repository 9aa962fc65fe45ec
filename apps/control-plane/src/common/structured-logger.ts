import type { Logger as NestLogger } from '@nestjs/common';

/** The `(fields, message)` logger the event store and background loops take, backed by a Nest logger (pino). */
export interface StructuredLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function structuredLogger(logger: NestLogger): StructuredLogger {
  return {
    debug: (o, m) => logger.debug({ ...o, msg: m }),
    info: (o, m) => logger.log({ ...o, msg: m }),
    warn: (o, m) => logger.warn({ ...o, msg: m }),
    error: (o, m) => logger.error({ ...o, msg: m }),
  };
}
