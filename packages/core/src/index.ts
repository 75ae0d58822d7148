export * from './node-api.ts';
export * from './events.ts';
export * from './errors.ts';
export * from './graph.ts';
export * from './registry.ts';
export * from './value-size.ts';
