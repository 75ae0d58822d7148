export { default as NodeLibrary } from './NodeLibrary.svelte';
export type { NodeLibraryProps } from './types.ts';
