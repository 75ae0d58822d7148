/**
 * The editor's keyboard shortcuts, as ComfyUI binds them. Copy, paste, select-all and delete are left to litegraph.
 * Alt+C collapses and P pins the selected nodes; Alt+= and Alt+- zoom.
 */
export type Command =
  | 'queue' | 'queue-front' | 'save' | 'open' | 'export-api' | 'undo' | 'redo' | 'mute' | 'bypass' | 'group'
  | 'interrupt' | 'fit-view' | 'convert-to-subgraph' | 'refresh' | 'collapse' | 'pin' | 'zoom-in' | 'zoom-out';

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
  if (!mod && !e.altKey && !e.shiftKey && key === 'p') return 'pin';
  if (!mod && e.altKey && key === 'c') return 'collapse';
  // Alt+= and Alt++ (the same key with Shift) zoom in, Alt+- zooms out.
  if (!mod && e.altKey && (key === '=' || key === '+')) return 'zoom-in';
  if (!mod && e.altKey && key === '-') return 'zoom-out';
  return null;
}
