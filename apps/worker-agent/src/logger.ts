import pino from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from '@berth/config';

/** The agent's root logger; each part takes a child with its component name. */
export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'worker-agent', level });
}
