export * from './app';
export * from './deployment';
export * from './worker';
export * from './events';
export * from './agent-protocol';
export * from './errors';
export * from './telemetry';
export * from './routes';
