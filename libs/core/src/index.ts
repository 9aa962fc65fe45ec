export { systemClock, type Clock, type TimerHandle } from './clock';
export { FakeClock } from './fake-clock';
export { noopLogger, type Logger } from './logger';
export * from './seed-rules';
export * from './validation';
export * from './log-line';
