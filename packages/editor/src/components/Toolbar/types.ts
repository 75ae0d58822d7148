/** Which side panel the toolbar toggles. */
export type PanelName = 'queue' | 'history' | 'gallery' | null;

export interface ToolbarProps {
  panel: PanelName;
  onPanel: (panel: PanelName) => void;
}
