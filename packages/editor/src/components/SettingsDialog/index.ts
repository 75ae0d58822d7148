export { default as SettingsDialog } from './SettingsDialog.svelte';
export type { SettingsDialogProps } from './types.ts';
