export { default as TemplateBrowser } from './TemplateBrowser.svelte';
export type { TemplateBrowserProps } from './types.ts';
