/**
 * The left sidebar's tabs, top to bottom. Adding a tab is one line here: an id, a title, an icon from lib/icons.ts
 * and a panel component (which takes no props and reads the editor through `getEditorContext()`).
 */
import { ModelLibrary } from '../ModelLibrary/index.ts';
import { NodeLibrary } from '../NodeLibrary/index.ts';
import { TemplateBrowser } from '../TemplateBrowser/index.ts';
import { WorkflowsPanel } from '../WorkflowsPanel/index.ts';
import type { SidebarTab } from './types.ts';

export const SIDEBAR_TABS: SidebarTab[] = [
  { id: 'nodes', title: 'Node Library', icon: 'nodes', panel: NodeLibrary },
  { id: 'models', title: 'Model Library', icon: 'models', panel: ModelLibrary },
  { id: 'workflows', title: 'Workflows', icon: 'workflows', panel: WorkflowsPanel },
  { id: 'templates', title: 'Templates', icon: 'templates', panel: TemplateBrowser },
];
