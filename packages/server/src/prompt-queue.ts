/**
 * The prompt queue: lowest `number` first, ties in arrival order. It mirrors the SQLite queue table in memory, hands
 * prompts to the engine (as many at once as its `capacity()`: one for the in-process worker, one per free remote
 * worker slot), relays each prompt's events to its client, and writes the history entry before the client hears that
 * the prompt ended.
 */
import type { ExecutionEvent } from '@uso-studio/core';
import type { Engine, EngineJob } from './engine.ts';
import { previewsWanted } from './preview-method.ts';
import type { PreviewMethod } from './preview-method.ts';
import type { HistoryEntry, QueueItem, Store, StoredPrompt } from './store.ts';
import type { RunResult } from './worker-protocol.ts';
import type { HubClient, WsHub } from './ws-hub.ts';

export interface PromptQueueOptions {
  store: Store;
  engine: Engine;
  hub: WsHub;
  /** Pending prompts beyond this are refused (POST /prompt answers 429). */
  maxQueue: number;
  /** Put a prompt that was running when the server died back in the queue instead of recording it failed. */
  requeueInterrupted?: boolean;
  /** Accept prompts but do not run them until `resume()`. */
  paused?: boolean;
  /** The server's preview method (ComfyUI's --preview-method, default none); a prompt's extra_data may ask for another. */
  previewMethod?: PreviewMethod;
  log?: (message: string) => void;
}

interface Running {
  stored: StoredPrompt;
  executing?: { node: string | null; display_node?: string; prompt_id: string };
  /** Every node that left `pending`, as ComfyUI's progress_state lists them; the engine sends only what changed. */
  nodeStates: Record<string, unknown>;
  startedAt: number;
  /** End-of-prompt events, held back until history is written so a client that reacts to them finds the entry. */
  held: ExecutionEvent[];
  done: Promise<void>;
}

export const RESTART_FAILURE_MESSAGE =
  'The server stopped while this prompt was running (the process was killed or crashed), so it did not finish. Queue it again to retry.';

export class PromptQueue {
  readonly #o: PromptQueueOptions;
  readonly #pending: StoredPrompt[] = [];
  /** Running prompts by id, in the order they started. */
  readonly #running = new Map<string, Running>();
  #counter: number;
  #paused: boolean;
  #idleWaiters: (() => void)[] = [];
  #statusTimer: NodeJS.Immediate | undefined;
  #committing = 0;
  /** Prompts submitted with an `answered` promise that has not settled yet: the queue does not start past them. */
  readonly #unanswered = new Set<string>();

  constructor(options: PromptQueueOptions) {
    this.#o = options;
    this.#paused = options.paused ?? false;
    this.#counter = Math.floor(options.store.maxNumber()) + 1;
    options.engine.onCapacityChange(() => this.#pump());
    this.#restore();
  }

  /** The next automatic `number`; `front` puts the prompt ahead of everything queued (ComfyUI's negative number). */
  nextNumber(front = false): number {
    const n = this.#counter++;
    return front ? -n : n;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Pending plus running: ComfyUI's `queue_remaining`. */
  get remaining(): number {
    return this.#pending.length + this.#running.size;
  }

  /** Counts prompts still being committed too, so a burst cannot overshoot the limit. */
  isFull(): boolean {
    return this.#pending.length + this.#committing >= this.#o.maxQueue;
  }

  /** The first running prompt (the only one with the in-process worker). */
  get runningPromptId(): string | undefined {
    return this.#running.keys().next().value;
  }

  /**
   * Persists and queues a prompt. Resolves once the row is committed (group commit with the other prompts of this
   * event-loop turn), so the caller may then answer 200; a failed write rejects and the prompt is not queued.
   * With `answered`, the prompt does not start (nor anything queued after it) before that settles: ComfyUI writes
   * POST /prompt's answer before any of the prompt's events, and clients (@stable-canvas/comfyui-client's enqueue)
   * only listen for a prompt's events once they hold its id, so a fast prompt's `executed` could otherwise be missed.
   */
  async submit(item: QueueItem, clientId: string | null, answered?: Promise<unknown>): Promise<void> {
    // Observed at once: a submitter that went away (a rejected promise) releases the prompt, unreported.
    const settled = answered?.then(
      () => undefined,
      () => undefined,
    );
    this.#committing++;
    try {
      const seq = await this.#o.store.enqueueBatched(item, clientId);
      if (settled) {
        const promptId = item[1];
        this.#unanswered.add(promptId);
        void settled.then(() => {
          this.#unanswered.delete(promptId);
          this.#pump();
        });
      }
      this.#insert({ seq, promptId: item[1], number: item[0], clientId, item, state: 'pending' });
    } finally {
      this.#committing--;
    }
    this.#broadcastStatus();
    this.#pump();
    this.#notifyIdle();
  }

  /** `[running items, pending items]` in run order. */
  snapshot(): { running: QueueItem[]; pending: QueueItem[] } {
    return { running: [...this.#running.values()].map((r) => r.stored.item), pending: this.#pending.map((p) => p.item) };
  }

  deletePending(promptIds: readonly string[]): void {
    const ids = new Set(promptIds);
    this.#o.store.deletePending(promptIds);
    for (let i = this.#pending.length - 1; i >= 0; i--) if (ids.has(this.#pending[i]!.promptId)) this.#pending.splice(i, 1);
    this.#broadcastStatus();
    this.#notifyIdle();
  }

  clearPending(): void {
    this.#o.store.clearPending();
    this.#pending.length = 0;
    this.#broadcastStatus();
    this.#notifyIdle();
  }

  /** Interrupts the running prompts (only `promptId` when given). */
  interrupt(promptId?: string): boolean {
    return this.#o.engine.interrupt(promptId);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Resolves once nothing runs and nothing runnable waits. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops dispatching and waits for the running prompts' history writes (the engine ends the runs itself). */
  async stop(): Promise<void> {
    this.#paused = true;
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  statusData(): { status: { exec_info: { queue_remaining: number } } } {
    return { status: { exec_info: { queue_remaining: this.remaining } } };
  }

  /** A new socket gets the status (with its sid) and, if its prompt is running, what runs now. */
  onClientConnected(client: HubClient): void {
    const hub = this.#o.hub;
    hub.sendToClient(client, 'status', { ...this.statusData(), sid: client.sid });
    for (const r of this.#running.values()) {
      if (r.stored.clientId !== client.sid) continue;
      const promptId = r.stored.promptId;
      hub.sendToClient(client, 'execution_start', { prompt_id: promptId, timestamp: r.startedAt });
      if (r.executing) hub.sendToClient(client, 'executing', r.executing);
      if (Object.keys(r.nodeStates).length) hub.sendToClient(client, 'progress_state', { prompt_id: promptId, nodes: r.nodeStates });
    }
  }

  #restore(): void {
    const resume = this.#o.engine.resume?.bind(this.#o.engine);
    for (const row of this.#o.store.queued()) {
      if (row.state === 'running' && resume) {
        // Remote workers may still be running it, or have finished it while no server listened.
        this.#start(row, (job, onEvent) =>
          resume(job, onEvent).then((result) => result ?? this.#lostOnRestart(row)),
        );
      } else if (row.state === 'running') {
        if (this.#o.requeueInterrupted) {
          this.#o.store.markPending(row.promptId);
          this.#pending.push({ ...row, state: 'pending' });
          this.#o.log?.(`prompt ${row.promptId} was running when the server stopped; queued again`);
        } else {
          this.#o.store.finish(row.promptId, failedEntry(row.item, 'ServerRestart', RESTART_FAILURE_MESSAGE));
          this.#o.log?.(`prompt ${row.promptId} was running when the server stopped; recorded as failed`);
        }
      } else {
        this.#pending.push(row);
      }
    }
    this.#pending.sort(compare);
    queueMicrotask(() => this.#pump());
  }

  #insert(p: StoredPrompt): void {
    // Binary search keeps `pending` sorted without re-sorting on every submit.
    let lo = 0;
    let hi = this.#pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.#pending[mid]!, p) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.#pending.splice(lo, 0, p);
  }

  #pump(): void {
    while (!this.#paused && this.#pending.length > 0 && !this.#unanswered.has(this.#pending[0]!.promptId) && this.#running.size < this.#o.engine.capacity()) {
      const stored = this.#pending.shift()!;
      this.#o.store.markRunning(stored.promptId);
      this.#start(stored, (job, onEvent) => this.#o.engine.run(job, onEvent));
    }
  }

  /** Runs one prompt; `run` resolving to undefined means the prompt went back to the pending list (nothing to record). */
  #start(stored: StoredPrompt, run: (job: EngineJob, onEvent: (event: ExecutionEvent) => void) => Promise<RunResult | undefined>): void {
    let finish!: () => void;
    const running: Running = { stored, startedAt: Date.now(), nodeStates: {}, held: [], done: new Promise<void>((r) => (finish = r)) };
    const [, promptId, prompt, extraData, outputs] = stored.item;
    this.#running.set(promptId, running);
    // ComfyUI announces the queue change when a prompt is taken off it, before the prompt's execution_start.
    this.#sendStatusNow();
    const previews = previewsWanted(extraData, this.#o.previewMethod ?? 'none');
    run({ promptId, prompt, extraData, outputs, previews }, (event) => this.#relay(running, event))
      .then((result) => {
        if (result) this.#finish(running, result);
      })
      .catch((error: unknown) => this.#o.log?.(`finishing prompt ${promptId} failed: ${String(error)}`))
      .finally(() => {
        finish();
        if (this.#running.get(promptId) === running) this.#running.delete(promptId);
        this.#broadcastStatus();
        this.#pump();
        this.#notifyIdle();
      });
  }

  /** A prompt the previous server left running that no worker knows about: failed, or queued again when asked. */
  #lostOnRestart(row: StoredPrompt): RunResult | undefined {
    if (this.#o.requeueInterrupted) {
      this.#o.store.markPending(row.promptId);
      this.#running.delete(row.promptId);
      this.#insert({ ...row, state: 'pending' });
      this.#o.log?.(`prompt ${row.promptId} was running when the server stopped and no worker has it; queued again`);
      return undefined;
    }
    return { status: 'error', outputs: {}, messages: [], error: { type: 'ServerRestart', message: RESTART_FAILURE_MESSAGE } };
  }

  #relay(r: Running, event: ExecutionEvent): void {
    const sid = r.stored.clientId;
    switch (event.type) {
      case 'preview':
        if (sid !== null) this.#o.hub.sendPreview(sid, event.data);
        return;
      case 'execution_success':
      case 'execution_error':
      case 'execution_interrupted':
        r.held.push(event);
        return;
      case 'executing':
        if (event.data.node === null) {
          r.held.push(event);
          return;
        }
        r.executing = event.data;
        break;
      case 'execution_start':
        r.startedAt = event.data.timestamp;
        break;
      case 'progress_state':
        Object.assign(r.nodeStates, event.data.nodes);
        if (sid !== null) this.#o.hub.send(sid, 'progress_state', { prompt_id: event.data.prompt_id, nodes: r.nodeStates });
        return;
      case 'execution_cached':
        // ComfyUI marks each cached node finished, so they appear in progress_state from here on.
        for (const id of event.data.nodes) r.nodeStates[id] = { value: 1, max: 1, state: 'finished', node_id: id, display_node_id: id, parent_node_id: null, real_node_id: id, prompt_id: event.data.prompt_id };
        break;
    }
    // ComfyUI sends a prompt's events only to the client that queued it; a prompt without client_id is silent.
    if (sid !== null) this.#o.hub.send(sid, event.type, event.data);
  }

  #finish(r: Running, result: RunResult): void {
    const { item, promptId, clientId } = r.stored;
    const messages = [...result.messages];
    const held = r.held;
    const has = (type: string) => held.some((e) => e.type === type);
    const timestamp = Date.now();
    // The worker died or never started: the engine sent no end events, so the server writes them.
    if (result.status === 'error' && !has('execution_error')) {
      const nodeId = r.executing?.node ?? '';
      const data = {
        prompt_id: promptId,
        node_id: nodeId,
        node_type: nodeId ? (item[2][nodeId]?.class_type ?? '') : '',
        executed: [],
        exception_message: result.error?.message ?? 'The prompt failed',
        exception_type: result.error?.type ?? 'Error',
        traceback: result.error?.traceback ?? [],
        current_inputs: {},
        current_outputs: [],
        timestamp,
      };
      held.push({ type: 'execution_error', data });
      if (!messages.some(([t]) => t === 'execution_error')) messages.push(['execution_error', data]);
    }
    if (result.status === 'success' && !has('execution_success')) held.push({ type: 'execution_success', data: { prompt_id: promptId, timestamp } });
    if (result.status === 'interrupted' && !has('execution_interrupted')) {
      const data = { prompt_id: promptId, node_id: r.executing?.node ?? '', node_type: '', executed: [], timestamp };
      held.push({ type: 'execution_interrupted', data });
      if (!messages.some(([t]) => t === 'execution_interrupted')) messages.push(['execution_interrupted', data]);
    }
    if (!held.some((e) => e.type === 'executing')) held.push({ type: 'executing', data: { node: null, prompt_id: promptId } });

    const entry: HistoryEntry = {
      prompt: item,
      outputs: result.outputs,
      status: { status_str: result.status === 'success' ? 'success' : 'error', completed: result.status === 'success', messages },
      meta: Object.fromEntries(Object.keys(result.outputs).map((id) => [id, { node_id: id, display_node: id, parent_node: null, real_node_id: id }])),
    };
    try {
      this.#o.store.finish(promptId, entry);
    } catch (error) {
      this.#o.log?.(`writing history for ${promptId} failed: ${String(error)}`);
    }
    this.#running.delete(promptId);
    // `executing {node:null}` last: ComfyUI clients treat it as the end of the prompt.
    held.sort((a, b) => Number(a.type === 'executing') - Number(b.type === 'executing'));
    if (clientId !== null) for (const e of held) this.#o.hub.send(clientId, e.type, e.data);
    this.#broadcastStatus();
  }

  /** Coalesced per event-loop turn: a burst of submissions sends every socket one status, not one each. */
  #broadcastStatus(): void {
    if (this.#statusTimer) return;
    this.#statusTimer = setImmediate(() => this.#sendStatusNow());
  }

  /** Sends the status at once; a coalesced one still waiting is folded into it. */
  #sendStatusNow(): void {
    if (this.#statusTimer) clearImmediate(this.#statusTimer);
    this.#statusTimer = undefined;
    this.#o.hub.send(null, 'status', this.statusData());
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && this.#committing === 0 && (this.#paused || this.#pending.length === 0);
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }
}

function compare(a: StoredPrompt, b: StoredPrompt): number {
  return a.number - b.number || a.seq - b.seq;
}

/** A history entry for a prompt that failed outside the engine (server restart, worker start failure). */
function failedEntry(item: QueueItem, type: string, message: string): HistoryEntry {
  const timestamp = Date.now();
  const error = {
    prompt_id: item[1],
    node_id: '',
    node_type: '',
    executed: [],
    exception_message: message,
    exception_type: type,
    traceback: [],
    current_inputs: {},
    current_outputs: [],
    timestamp,
  };
  return { prompt: item, outputs: {}, status: { status_str: 'error', completed: false, messages: [['execution_error', error]] }, meta: {} };
}
