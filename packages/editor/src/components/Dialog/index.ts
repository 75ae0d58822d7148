export { default as Dialog } from './Dialog.svelte';
export type { DialogProps } from './types.ts';
