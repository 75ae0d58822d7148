export { default as WorkflowsPanel } from './WorkflowsPanel.svelte';
export type { WorkflowsPanelProps } from './types.ts';
