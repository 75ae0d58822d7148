export { default as QueuePanel } from './QueuePanel.svelte';
export type { QueuePanelProps } from './types.ts';
