/** Workflow formats: UI workflows (0.4 and 1), subgraph flattening, and conversion between UI workflows and API prompts. */
export * from './errors.ts';
export * from './workflow.ts';
export * from './widgets.ts';
export * from './subgraph.ts';
export * from './ui-to-api.ts';
export * from './api-to-ui.ts';
export * from './png/index.ts';
