/** SettingsDialog reads the editor context; no props. */
export type SettingsDialogProps = Record<string, never>;
