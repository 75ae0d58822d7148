export { default as WorkflowTabs } from './WorkflowTabs.svelte';
export type { WorkflowTabsProps } from './types.ts';
