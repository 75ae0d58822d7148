/** QueuePanel reads the editor context; no props. */
export type QueuePanelProps = Record<string, never>;
