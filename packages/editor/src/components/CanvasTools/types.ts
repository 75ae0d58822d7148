/** The canvas tools read the editor context; no props. */
export type CanvasToolsProps = Record<string, never>;
