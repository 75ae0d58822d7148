export { default as TitleEditor } from './TitleEditor.svelte';
export type { TitleEditorProps } from './types.ts';
