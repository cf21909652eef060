export * from './common';
export * from './serverEvents';
export * from './agentEvents';
export * from './lifecycleEvent';
export * from './eventFactory';
export * from './identifiers';
export * from './validate';
export * from './ulid';
