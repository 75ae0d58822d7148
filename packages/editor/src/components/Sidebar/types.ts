import type { Component } from 'svelte';
import type { IconName } from '../../lib/icons.ts';

/** One tab of the left sidebar: its icon in the bar and the panel it opens. */
export interface SidebarTab {
  /** Stable id: `data-testid="sidebar-tab-<id>"` on the button, and what `app.sidebarTab` holds when it is open. */
  id: string;
  /** The tooltip and the panel's heading. */
  title: string;
  icon: IconName;
  /** The panel; it reads the editor through `getEditorContext()` and takes no props. */
  panel: Component;
}
/** The sidebar reads its tabs from tabs.ts and the open one from the editor context; no props. */
export type SidebarProps = Record<string, never>;
