/** The node library tab reads the editor context; no props. */
export type NodeLibraryProps = Record<string, never>;
