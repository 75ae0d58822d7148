/** Notices reads the editor context; no props. */
export type NoticesProps = Record<string, never>;
