/**
 * The editor's keyboard shortcuts, as ComfyUI binds them. Copy, paste, select-all and delete are left to litegraph.
 */
export type Command =
  | 'queue' | 'queue-front' | 'save' | 'open' | 'export-api' | 'undo' | 'redo' | 'mute' | 'bypass' | 'group'
  | 'interrupt' | 'fit-view' | 'convert-to-subgraph' | 'refresh';

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/**
 * The command for a key press, or null. `inTextField` is true while typing in an input or textarea, where only
 * Ctrl+Enter, Ctrl+S and Ctrl+O still act (so the browser's own undo works in text).
 */
export function commandFor(e: KeyLike, inTextField = false): Command | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  // ComfyUI's Ctrl+Alt+Enter interrupts; it must be told apart from Ctrl+Enter, which queues another run.
  if (mod && e.altKey && key === 'Enter') return 'interrupt';
  if (mod && key === 'Enter') return e.shiftKey ? 'queue-front' : 'queue';
  if (mod && key === 's' && !e.shiftKey) return 'save';
  if (mod && key === 's' && e.shiftKey) return 'export-api';
  if (mod && key === 'o') return 'open';
  if (inTextField) return null;
  if (mod && key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (mod && key === 'y') return 'redo';
  if (mod && key === 'm') return 'mute';
  if (mod && key === 'b') return 'bypass';
  if (mod && key === 'g') return 'group';
  if (mod && e.shiftKey && key === 'e') return 'convert-to-subgraph';
  if (!mod && key === 'Escape') return null;
  if (!mod && !e.altKey && key === '.') return 'fit-view';
  if (!mod && !e.altKey && key === 'r') return 'refresh';
  return null;
}
