export { default as Notices } from './Notices.svelte';
export type { NoticesProps } from './types.ts';
