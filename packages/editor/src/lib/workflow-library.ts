/**
 * Workflows saved on the server, as ComfyUI keeps them: JSON files under the user's `workflows/` folder, reached
 * through `/userdata` (list, read, write with `overwrite`, delete, move). A workflow saved in one browser opens in
 * any other. Names are file names without `.json`; sub-folders are kept in the name (`portraits/style one`).
 */
import { UserdataExistsError, type ApiClient, type UserdataEntry } from './api-client.ts';
import type { Dialogs } from './dialogs.ts';

export const WORKFLOWS_DIR = 'workflows';

/** A saved workflow as the sidebar lists it. */
export interface LibraryEntry { path: string; name: string; size: number; modified: number }

/** `workflows/<name>.json` for a name typed by the user; null when nothing usable is left of it. */
export function workflowPathFor(name: string): string | null {
  const cleaned = name.trim().replace(/\.json$/i, '').replace(/\\/g, '/').split('/')
    .map((part) => part.trim().replace(/[:*?"<>|]+/g, '_'))
    .filter((part) => part && part !== '.' && part !== '..')
    .join('/');
  return cleaned ? `${WORKFLOWS_DIR}/${cleaned}.json` : null;
}

/** The name of a workflow path: `workflows/a/b.json` -> `a/b`. */
export function workflowNameOf(path: string): string {
  return path.replace(new RegExp(`^${WORKFLOWS_DIR}/`), '').replace(/\.json$/i, '');
}

export function libraryEntries(entries: UserdataEntry[]): LibraryEntry[] {
  return entries
    .filter((e) => e.path.toLowerCase().endsWith('.json'))
    .map((e) => ({ path: `${WORKFLOWS_DIR}/${e.path}`, name: workflowNameOf(`${WORKFLOWS_DIR}/${e.path}`), size: e.size, modified: e.modified }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export class WorkflowLibrary {
  #api: ApiClient;
  #dialogs: Dialogs;

  constructor(api: ApiClient, dialogs: Dialogs) {
    this.#api = api;
    this.#dialogs = dialogs;
  }

  async list(): Promise<LibraryEntry[]> {
    return libraryEntries(await this.#api.listUserdata(WORKFLOWS_DIR));
  }

  async read(path: string): Promise<unknown> {
    return JSON.parse(await this.#api.readUserdata(path)) as unknown;
  }

  /** Overwrites `path` (a workflow that is already saved there). */
  async write(path: string, workflow: unknown): Promise<void> {
    await this.#api.writeUserdata(path, JSON.stringify(workflow), true);
  }

  /**
   * Asks for a name (starting from `suggested`) and saves under it; a name that is taken asks before overwriting.
   * Resolves with the path saved to, or null when the user cancelled.
   */
  async saveAs(workflow: unknown, suggested: string): Promise<string | null> {
    const path = await this.#askPath('Save workflow', 'Save as', suggested);
    if (!path) return null;
    try {
      await this.#api.writeUserdata(path, JSON.stringify(workflow), false);
    } catch (e) {
      if (!(e instanceof UserdataExistsError)) throw e;
      if (!(await this.#confirmOverwrite(path))) return null;
      await this.#api.writeUserdata(path, JSON.stringify(workflow), true);
    }
    return path;
  }

  /** Asks for a new name and moves the file; resolves with the new path, or null when cancelled. */
  async rename(path: string): Promise<string | null> {
    const dest = await this.#askPath('Rename workflow', 'Rename', workflowNameOf(path));
    if (!dest || dest === path) return null;
    try {
      await this.#api.moveUserdata(path, dest, false);
    } catch (e) {
      if (!(e instanceof UserdataExistsError)) throw e;
      if (!(await this.#confirmOverwrite(dest))) return null;
      await this.#api.moveUserdata(path, dest, true);
    }
    return dest;
  }

  /** Asks, then deletes; resolves with whether it did. */
  async remove(path: string): Promise<boolean> {
    const answer = await this.#dialogs.ask({
      title: 'Delete workflow', message: 'Delete this workflow from the server? This cannot be undone.', items: [path],
      buttons: [{ label: 'Delete', value: 'delete', kind: 'danger' }, { label: 'Cancel', value: 'cancel' }],
    });
    if (answer.choice !== 'delete') return false;
    await this.#api.deleteUserdata(path);
    return true;
  }

  async #askPath(title: string, action: string, suggested: string): Promise<string | null> {
    const answer = await this.#dialogs.ask({
      title, message: 'Enter a name for the workflow (sub/folder/name makes folders).', input: { label: 'Name', value: suggested },
      buttons: [{ label: action, value: 'ok', kind: 'primary' }, { label: 'Cancel', value: 'cancel' }],
    });
    if (answer.choice !== 'ok') return null;
    return workflowPathFor(answer.text);
  }

  async #confirmOverwrite(path: string): Promise<boolean> {
    const answer = await this.#dialogs.ask({
      title: 'Overwrite?', message: 'A workflow with this name exists. Overwrite it?', items: [path],
      buttons: [{ label: 'Overwrite', value: 'overwrite', kind: 'danger' }, { label: 'Cancel', value: 'cancel' }],
    });
    return answer.choice === 'overwrite';
  }
}
