/** MaskEditor shows while the editor state holds a mask edit request (Open in MaskEditor); no props. */
export type MaskEditorProps = Record<string, never>;
