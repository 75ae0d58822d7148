/** NodeSearch shows while the editor state holds a search request; no props. */
export type NodeSearchProps = Record<string, never>;
