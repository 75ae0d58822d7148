export { default as GraphCanvas } from './GraphCanvas.svelte';
export type { GraphCanvasProps } from './types.ts';
