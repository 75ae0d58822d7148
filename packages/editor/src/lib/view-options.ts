/**
 * The canvas tools' switches, the minimap and the node id badges, as the editor uses them. They are settings
 * (lib/settings.ts), stored on the server under ComfyUI's ids, so the settings dialog shows them and a reload or
 * another browser keeps them: `Comfy.Minimap.Visible` and `Comfy.NodeBadge.NodeIdBadgeMode` ('Show all' shows the
 * badges; ComfyUI's 'Hide built-in' has no meaning here, where every node is built in, and reads as off).
 */
import { MINIMAP_VISIBLE, NODE_ID_BADGE_MODE } from './settings.ts';

export interface ViewOptions {
  /** The minimap in the canvas's bottom-right corner. */
  minimap: boolean;
  /** `#id` badges over node titles. */
  nodeIdBadges: boolean;
}

export const DEFAULT_VIEW_OPTIONS: ViewOptions = { minimap: false, nodeIdBadges: false };

/** The view options that settings values (`get(id)`) give. */
export function viewOptionsFromSettings(get: (id: string) => unknown): ViewOptions {
  return { minimap: get(MINIMAP_VISIBLE) === true, nodeIdBadges: get(NODE_ID_BADGE_MODE) === 'Show all' };
}

/** The settings to store for a change of view options. */
export function settingsForViewOptions(changes: Partial<ViewOptions>): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (changes.minimap !== undefined) out.push([MINIMAP_VISIBLE, changes.minimap]);
  if (changes.nodeIdBadges !== undefined) out.push([NODE_ID_BADGE_MODE, changes.nodeIdBadges ? 'Show all' : 'None']);
  return out;
}
