export { default as NodeSearch } from './NodeSearch.svelte';
export type { NodeSearchProps } from './types.ts';
