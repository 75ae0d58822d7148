export { default as MaskEditor } from './MaskEditor.svelte';
export type { MaskEditorProps } from './types.ts';
