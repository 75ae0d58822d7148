/** WorkflowsPanel reads the editor context; no props. */
export type WorkflowsPanelProps = Record<string, never>;
