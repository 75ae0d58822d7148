export { default as ModelLibrary } from './ModelLibrary.svelte';
export type { ModelLibraryProps } from './types.ts';
