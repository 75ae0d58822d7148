/** GraphCanvas takes no props: it reads the editor context. */
export type GraphCanvasProps = Record<string, never>;
