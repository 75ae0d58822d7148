/** The template browser tab reads the editor context; no props. */
export type TemplateBrowserProps = Record<string, never>;
