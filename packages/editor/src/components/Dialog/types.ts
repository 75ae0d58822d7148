/** Dialog reads the editor context; no props. */
export type DialogProps = Record<string, never>;
