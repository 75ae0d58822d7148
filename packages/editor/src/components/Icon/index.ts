export { default as Icon } from './Icon.svelte';
export type { IconProps } from './types.ts';
