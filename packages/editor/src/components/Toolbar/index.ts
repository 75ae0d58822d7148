export { default as Toolbar } from './Toolbar.svelte';
export type { ToolbarProps, PanelName } from './types.ts';
