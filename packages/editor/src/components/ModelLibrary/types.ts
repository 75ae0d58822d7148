/** The model library tab reads the editor context; no props. */
export type ModelLibraryProps = Record<string, never>;
