/** TitleEditor shows while the editor state holds a rename request; no props. */
export type TitleEditorProps = Record<string, never>;
