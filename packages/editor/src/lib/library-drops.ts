/**
 * What the sidebar libraries put on a drag, and reading it back on the canvas: a node class, or a model file of a
 * model folder. Custom MIME types keep these apart from dropped files and text.
 */

export const NODE_DRAG_TYPE = 'application/x-uso-node';
export const MODEL_DRAG_TYPE = 'application/x-uso-model';

export type LibraryDrop = { kind: 'node'; type: string } | { kind: 'model'; folder: string; file: string };

/** Fills a drag from the node library. */
export function startNodeDrag(data: DataTransfer, type: string): void {
  data.setData(NODE_DRAG_TYPE, type);
  data.setData('text/plain', type);
  data.effectAllowed = 'copy';
}

/** Fills a drag from the model library. */
export function startModelDrag(data: DataTransfer, folder: string, file: string): void {
  data.setData(MODEL_DRAG_TYPE, JSON.stringify({ folder, file }));
  data.setData('text/plain', file);
  data.effectAllowed = 'copy';
}

/** True while dragging something a library started (its data is readable only on drop, its types always). */
export function isLibraryDrag(data: DataTransfer | null): boolean {
  return !!data && (data.types.includes(NODE_DRAG_TYPE) || data.types.includes(MODEL_DRAG_TYPE));
}

/** The library item a drop carries, or null for anything else (files, text, malformed data). */
export function readLibraryDrop(data: DataTransfer | null): LibraryDrop | null {
  if (!data) return null;
  const type = data.getData(NODE_DRAG_TYPE);
  if (type) return { kind: 'node', type };
  const model = data.getData(MODEL_DRAG_TYPE);
  if (!model) return null;
  try {
    const parsed = JSON.parse(model) as { folder?: unknown; file?: unknown };
    if (typeof parsed.folder === 'string' && typeof parsed.file === 'string') return { kind: 'model', folder: parsed.folder, file: parsed.file };
  } catch {
    // Not ours after all.
  }
  return null;
}
