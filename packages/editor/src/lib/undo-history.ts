/**
 * Undo and redo as snapshots of the serialised graph, taken when an edit settles (as ComfyUI's change tracker does):
 * litegraph has no command history of its own.
 */
export class UndoHistory {
  #undo: string[] = [];
  #redo: string[] = [];
  #current: string | null = null;
  readonly limit: number;

  constructor(limit = 50) {
    this.limit = limit;
  }

  /** Starts over from `state` (a loaded workflow): nothing to undo. */
  reset(state: string): void {
    this.#undo = [];
    this.#redo = [];
    this.#current = state;
  }

  /** Records `state` if it differs from the last one; returns whether it did. */
  record(state: string): boolean {
    if (state === this.#current) return false;
    if (this.#current !== null) {
      this.#undo.push(this.#current);
      if (this.#undo.length > this.limit) this.#undo.shift();
    }
    this.#redo = [];
    this.#current = state;
    return true;
  }

  /** The state to restore, or undefined when there is nothing to undo. */
  undo(): string | undefined {
    const prev = this.#undo.pop();
    if (prev === undefined) return undefined;
    if (this.#current !== null) this.#redo.push(this.#current);
    this.#current = prev;
    return prev;
  }

  redo(): string | undefined {
    const next = this.#redo.pop();
    if (next === undefined) return undefined;
    if (this.#current !== null) this.#undo.push(this.#current);
    this.#current = next;
    return next;
  }

  get canUndo(): boolean {
    return this.#undo.length > 0;
  }

  get canRedo(): boolean {
    return this.#redo.length > 0;
  }
}
