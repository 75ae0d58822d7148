/** HistoryPanel reads the editor context; no props. */
export type HistoryPanelProps = Record<string, never>;
