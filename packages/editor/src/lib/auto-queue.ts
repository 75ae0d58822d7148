/**
 * ComfyUI's run modes. "Queue" runs once per press. "Queue (Instant)" queues again each time the server's queue runs
 * empty, until the mode is switched back or a run fails or is interrupted. "Queue (On Change)" queues when an edit
 * settles (a new undo step; the seed step after a queue is not an edit), and an edit made while the queue is busy
 * queues once it runs empty, so only the changed tail recomputes and a style can be explored interactively.
 */

export type RunMode = 'once' | 'instant' | 'change';

export const RUN_MODES: readonly { mode: RunMode; label: string }[] = [
  { mode: 'once', label: 'Queue' },
  { mode: 'instant', label: 'Queue (Instant)' },
  { mode: 'change', label: 'Queue (On Change)' },
];

export class AutoQueue {
  #mode: RunMode = 'once';
  /** The server's queue holds prompts (running or pending), as its last status said, or we just queued one. */
  #busy = false;
  /** An edit settled while the queue was busy (On Change). */
  #editWaiting = false;
  readonly #queue: () => Promise<boolean>;
  readonly #onStop: (reason: string) => void;

  /** `queue` queues the graph and says whether it did; `onStop` hears why a mode switched itself back to once. */
  constructor(queue: () => Promise<boolean>, onStop: (reason: string) => void = () => undefined) {
    this.#queue = queue;
    this.#onStop = onStop;
  }

  get mode(): RunMode {
    return this.#mode;
  }

  set mode(mode: RunMode) {
    this.#mode = mode;
    this.#editWaiting = false;
  }

  /** An edit settled. */
  edited(): void {
    if (this.#mode !== 'change') return;
    if (this.#busy) this.#editWaiting = true;
    else this.#fire();
  }

  /** The server's queue size (from `status` messages): running empty is when the modes queue again. */
  queueSize(remaining: number): void {
    const wasBusy = this.#busy;
    this.#busy = remaining > 0;
    if (!wasBusy || this.#busy) return;
    if (this.#mode === 'instant') this.#fire();
    else if (this.#mode === 'change' && this.#editWaiting) {
      this.#editWaiting = false;
      this.#fire();
    }
  }

  /** A run ended badly (error, interrupt): Instant stops rather than repeat it forever. */
  runFailed(reason: string): void {
    if (this.#mode !== 'instant') return;
    this.#mode = 'once';
    this.#onStop(reason);
  }

  #fire(): void {
    this.#busy = true;
    void this.#queue().then((queued) => {
      if (queued) return;
      // Nothing was queued (the prompt was rejected): stop, or the mode would wait for a status that never comes.
      this.#busy = false;
      if (this.#mode !== 'once') {
        this.#mode = 'once';
        this.#onStop('the prompt was not queued');
      }
    });
  }
}
