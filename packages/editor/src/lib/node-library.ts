/**
 * The node library sidebar's data: node classes filed in a tree by their `/object_info` category (`a/b/c` nests),
 * each level sorted by name, folders before nodes.
 */
import type { ObjectInfo } from './object-info.ts';

export interface LibraryNode { type: string; title: string; description: string }
export interface CategoryFolder { name: string; path: string; folders: CategoryFolder[]; nodes: LibraryNode[] }

/** The classes in `info` as a category tree; classes without a category go under `uncategorized`. */
export function categoryTree(info: ObjectInfo): CategoryFolder {
  const root: CategoryFolder = { name: '', path: '', folders: [], nodes: [] };
  for (const entry of Object.values(info)) {
    let folder = root;
    for (const part of (entry.category || 'uncategorized').split('/').filter(Boolean)) {
      let next = folder.folders.find((f) => f.name === part);
      if (!next) {
        next = { name: part, path: folder.path ? `${folder.path}/${part}` : part, folders: [], nodes: [] };
        folder.folders.push(next);
      }
      folder = next;
    }
    folder.nodes.push({ type: entry.name, title: entry.display_name || entry.name, description: entry.description ?? '' });
  }
  sortTree(root);
  return root;
}

function sortTree(folder: CategoryFolder): void {
  folder.folders.sort((a, b) => a.name.localeCompare(b.name));
  folder.nodes.sort((a, b) => a.title.localeCompare(b.title));
  for (const child of folder.folders) sortTree(child);
}

/** How many node classes a folder holds, its subfolders included. */
export function countNodes(folder: CategoryFolder): number {
  return folder.nodes.length + folder.folders.reduce((sum, f) => sum + countNodes(f), 0);
}
