/** Gallery reads the editor context; no props. */
export type GalleryProps = Record<string, never>;
