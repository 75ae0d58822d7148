export { default as HistoryPanel } from './HistoryPanel.svelte';
export type { HistoryPanelProps } from './types.ts';
export { firstImage } from './first-image.ts';
