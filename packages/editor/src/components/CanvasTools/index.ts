export { default as CanvasTools } from './CanvasTools.svelte';
export type { CanvasToolsProps } from './types.ts';
