/**
 * Svelte context for the editor: components get the state and the controller from here, and a component used
 * outside <App> fails with a message that says so.
 */
import { getContext, setContext } from 'svelte';
import type { EditorController } from '../editor-controller.ts';
import type { AppState } from './app-state.svelte.ts';

const KEY = Symbol('uso-studio.editor');

interface EditorContext { app: AppState; controller: EditorController }

export function setEditorContext(ctx: EditorContext): void {
  setContext(KEY, ctx);
}

/** The editor's state and controller; throws when called outside the component tree that <App> sets up. */
export function getEditorContext(): EditorContext {
  const ctx = getContext<EditorContext | undefined>(KEY);
  if (!ctx) throw new Error('getEditorContext: no editor context. Render this component inside <App>, which calls setEditorContext.');
  return ctx;
}
