/**
 * Canvas view options a user switches and keeps: the minimap and the node id badges. Stored in localStorage under
 * one key; a missing or unreadable entry gives the defaults. (A settings dialog sets them through
 * `EditorController.setViewOptions`, which applies and stores them.)
 */
import type { StorageLike } from './workflow-files.ts';

export interface ViewOptions {
  /** The minimap in the canvas's bottom-right corner. */
  minimap: boolean;
  /** `#id` badges over node titles, as ComfyUI's "node ID badge" setting shows them. */
  nodeIdBadges: boolean;
}

export const DEFAULT_VIEW_OPTIONS: ViewOptions = { minimap: false, nodeIdBadges: false };
const KEY = 'uso-studio.view-options';

export function loadViewOptions(storage: StorageLike | null): ViewOptions {
  try {
    const saved = JSON.parse(storage?.getItem(KEY) ?? 'null') as Partial<ViewOptions> | null;
    return {
      minimap: typeof saved?.minimap === 'boolean' ? saved.minimap : DEFAULT_VIEW_OPTIONS.minimap,
      nodeIdBadges: typeof saved?.nodeIdBadges === 'boolean' ? saved.nodeIdBadges : DEFAULT_VIEW_OPTIONS.nodeIdBadges,
    };
  } catch {
    return { ...DEFAULT_VIEW_OPTIONS };
  }
}

/** Stores the options; a full or missing storage is not an error (they apply for this page anyway). */
export function saveViewOptions(storage: StorageLike | null, options: ViewOptions): void {
  try {
    storage?.setItem(KEY, JSON.stringify(options));
  } catch {
    // Quota or privacy mode: the options still apply until the page closes.
  }
}
