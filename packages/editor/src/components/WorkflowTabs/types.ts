/** WorkflowTabs reads the editor context; no props. */
export type WorkflowTabsProps = Record<string, never>;
