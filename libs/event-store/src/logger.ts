/** The event store logs through @berth/core's one Logger interface; a pino logger fits as is. */
export { noopLogger, type Logger } from '@berth/core';
