export { default as Gallery } from './Gallery.svelte';
export type { GalleryProps } from './types.ts';
