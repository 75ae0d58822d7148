export { default as Sidebar } from './Sidebar.svelte';
export { SIDEBAR_TABS } from './tabs.ts';
export type { SidebarTab } from './types.ts';
export type { SidebarProps } from './types.ts';
