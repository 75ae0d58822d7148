/**
 * The server's engine when prompts run on remote workers (`serve --queue redis://...`). Each prompt the queue starts
 * becomes one BullMQ job (job id = prompt id); the server then tells one chosen worker to `take` it (a worker with
 * the prompt's models loaded, else one with its model files, else none: the prompt fails naming the files). Events
 * come back in order on one pub/sub channel; the result is the job's return value, read once the worker says
 * `finished` (or, when that message was lost to a Redis restart or a server restart, found by the periodic check).
 * SQLite stays the record: a prompt is in history only once the server wrote it there, and a job leaves Redis only
 * after that.
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionEvent, NodeRegistry } from '@uso-studio/core';
import type { Engine, EngineJob, EngineWorkerInfo } from '../engine.ts';
import type { RunResult } from '../worker-protocol.ts';
import { connectRedis, parseQueueUrl } from './redis-connection.ts';
import type { QueueUrl } from './redis-connection.ts';
import { promptNeeds } from './prompt-needs.ts';
import { PROMPT_QUEUE, decodeMessage, encodeMessage, remoteKeys } from './remote-protocol.ts';
import type { ControlMessage, PromptNeeds, RemoteJobData, RemoteKeys, WorkerAnnouncement, WorkerMessage } from './remote-protocol.ts';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_LOCK_MS, DEFAULT_PREFIX } from './remote-worker.ts';
import type { TransferTokens } from './transfer-routes.ts';

export interface RemoteEngineOptions {
  queue: string;
  registry: NodeRegistry;
  tokens: TransferTokens;
  /** The URL workers use to reach this server (fetch inputs, send outputs). */
  serverUrl: () => string;
  prefix?: string;
  /** How often the server reads worker announcements and checks running jobs; default 1 s. */
  heartbeatMs?: number;
  /** Must match the workers' (their job locks); the server runs a stalled-job checker too. */
  lockMs?: number;
  stalledIntervalMs?: number;
  maxStalls?: number;
  /**
   * `affinity` (default): prefer a worker with the prompt's models loaded, then one with its files. `files`: any
   * worker with the files (the benchmark's same-run baseline for cache affinity).
   */
  routing?: 'affinity' | 'files';
  log?: (line: string) => void;
}

interface Flight {
  job: EngineJob;
  needs: PromptNeeds;
  onEvent: (event: ExecutionEvent) => void;
  resolve: (result: RunResult | undefined) => void;
  /** The worker running it, once it said `taken`. */
  worker?: string;
  refusedBy: Set<string>;
  /** A take for it is out. */
  taking: boolean;
  /** The periodic check saw the job finished in Redis (the `finished` message gets one more period to arrive). */
  seenFinished: boolean;
}

/** How long a `take` may go unanswered before another worker may be asked. */
const TAKE_TIMEOUT_MS = 3000;

export class RemoteEngine implements Engine {
  readonly #o: RemoteEngineOptions;
  readonly #url: QueueUrl;
  readonly #keys: RemoteKeys;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #queue: Queue<RemoteJobData, RunResult>;
  readonly #bullConnections: Redis[];
  readonly #checker: BullWorker<RemoteJobData, RunResult>;
  readonly #heartbeatMs: number;
  readonly #log: (line: string) => void;
  readonly #workers = new Map<string, WorkerAnnouncement>();
  readonly #flights = new Map<string, Flight>();
  #take: { id: string; worker: string; at: number } | undefined;
  readonly #listeners: (() => void)[] = [];
  #tick: NodeJS.Timeout | undefined;
  #ticking = false;
  #closed = false;

  constructor(o: RemoteEngineOptions) {
    this.#o = o;
    this.#url = parseQueueUrl(o.queue);
    this.#keys = remoteKeys(o.prefix ?? DEFAULT_PREFIX);
    this.#heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#log = o.log ?? ((line) => console.error(`[remote] ${line}`));
    this.#redis = connectRedis(this.#url, 'uso-server', this.#log);
    this.#sub = connectRedis(this.#url, 'uso-server-events', this.#log);
    // BullMQ never closes a connection it was given: these two are ended in close().
    this.#bullConnections = [connectRedis(this.#url, 'uso-server-queue', this.#log), connectRedis(this.#url, 'uso-server-stalled-check', this.#log)];
    this.#queue = new Queue<RemoteJobData, RunResult>(PROMPT_QUEUE, { connection: this.#bullConnections[0]!, prefix: this.#keys.bullPrefix });
    const lockMs = o.lockMs ?? DEFAULT_LOCK_MS;
    // Never fetches a job: it only runs BullMQ's stalled-job checker, so a job whose worker died goes back to the
    // queue even when no other worker is running one.
    this.#checker = new BullWorker<RemoteJobData, RunResult>(PROMPT_QUEUE, null, {
      connection: this.#bullConnections[1]!,
      prefix: this.#keys.bullPrefix,
      autorun: false,
      lockDuration: lockMs,
      stalledInterval: o.stalledIntervalMs ?? Math.max(100, Math.floor(lockMs / 2)),
      maxStalledCount: o.maxStalls ?? 1,
    });
    this.#queue.on('error', (e: Error) => this.#log(`queue error: ${e.message}`));
    this.#checker.on('error', (e: Error) => this.#log(`stalled-job checker error: ${e.message}`));
    // A reconnected subscriber may have missed messages: look at every running job again.
    this.#sub.on('ready', () => void this.#poll());
  }

  get executionProviders(): string[] {
    const found = new Set<string>();
    for (const w of this.#live()) for (const p of w.executionProviders) found.add(p);
    return found.size ? [...found] : ['cpu'];
  }

  async start(): Promise<void> {
    this.#sub.on('messageBuffer', (_channel: Buffer, payload: Buffer) => this.#onMessage(decodeMessage<WorkerMessage>(payload)));
    await this.#sub.subscribe(this.#keys.events);
    await this.#checker.startStalledCheckTimer();
    await this.#poll();
    this.#tick = setInterval(() => void this.#poll(), this.#heartbeatMs);
    this.#log(`prompts run on remote workers through ${this.#url.display} (${this.#live().length} worker(s) now)`);
  }

  capacity(): number {
    if (this.#closed) return 0;
    return this.#live().reduce((n, w) => n + w.concurrency, 0);
  }

  onCapacityChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  workers(): EngineWorkerInfo[] {
    return this.#live().map((w) => ({
      name: w.name,
      device: w.device,
      concurrency: w.concurrency,
      running: w.running,
      models_loaded: w.modelsLoaded,
      model_files: w.modelFiles.length,
      last_heartbeat: w.heartbeat,
    }));
  }

  async run(job: EngineJob, onEvent: (event: ExecutionEvent) => void): Promise<RunResult | undefined> {
    const needs = promptNeeds(job.prompt, this.#o.registry);
    const lacking = this.#nobodyHas(needs, new Set());
    if (lacking) return lacking;
    const result = this.#track(job, needs, onEvent);
    const data: RemoteJobData = {
      promptId: job.promptId,
      prompt: job.prompt,
      extraData: job.extraData,
      outputs: job.outputs,
      previews: job.previews ?? false,
      needs,
      server: { url: this.#o.serverUrl(), token: this.#o.tokens.tokenFor(job.promptId) },
      refusedBy: [],
    };
    try {
      await this.#queue.add('prompt', data, { jobId: job.promptId, removeOnComplete: false, removeOnFail: false });
    } catch (error) {
      this.#settle(job.promptId, failure('QueueError', `Could not queue the prompt in Redis: ${describe(error)}`));
    }
    this.#dispatch();
    return result;
  }

  async resume(job: EngineJob, onEvent: (event: ExecutionEvent) => void): Promise<RunResult | undefined> {
    const found = await Job.fromId<RemoteJobData, RunResult>(this.#queue, job.promptId);
    if (!found) return undefined;
    const result = this.#track(job, found.data.needs, onEvent);
    for (const w of found.data.refusedBy) this.#flights.get(job.promptId)!.refusedBy.add(w);
    await this.#check(job.promptId, true);
    this.#dispatch();
    return result;
  }

  interrupt(promptId?: string): boolean {
    let any = false;
    for (const [id, f] of this.#flights) {
      if (promptId !== undefined && id !== promptId) continue;
      any = true;
      // Not taken yet: take it out of Redis here (a job a worker holds is locked and stays).
      if (!f.worker && !f.taking) {
        void this.#queue.remove(id).then((removed) => {
          if (removed) this.#settle(id, { status: 'interrupted', outputs: {}, messages: [] });
        });
      }
    }
    if (any) void this.#control({ type: 'interrupt', ...(promptId !== undefined ? { promptId } : {}) });
    return any;
  }

  async free(unloadModels: boolean, freeMemory: boolean): Promise<void> {
    await this.#control({ type: 'free', unloadModels, freeMemory });
  }

  /** Lets go of running prompts without an outcome: they stay `running` in SQLite and the next start resumes them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#tick);
    for (const id of [...this.#flights.keys()]) this.#settle(id, undefined);
    await Promise.allSettled([this.#checker.close(true), this.#queue.close()]);
    for (const r of [this.#sub, this.#redis, ...this.#bullConnections]) r.disconnect();
  }

  #track(job: EngineJob, needs: PromptNeeds, onEvent: (event: ExecutionEvent) => void): Promise<RunResult | undefined> {
    return new Promise((resolve) => {
      this.#flights.set(job.promptId, { job, needs, onEvent, resolve, refusedBy: new Set(), taking: false, seenFinished: false });
    });
  }

  #settle(promptId: string, result: RunResult | undefined): void {
    const f = this.#flights.get(promptId);
    if (!f) return;
    this.#flights.delete(promptId);
    f.resolve(result);
  }

  #live(): WorkerAnnouncement[] {
    const now = Date.now();
    return [...this.#workers.values()].filter((w) => now - w.heartbeat <= w.ttlMs).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** An error result naming the files when no live worker (other than those that refused) has them all. */
  #nobodyHas(needs: PromptNeeds, refusedBy: ReadonlySet<string>): RunResult | undefined {
    const candidates = this.#live().filter((w) => !refusedBy.has(w.name));
    if (candidates.some((w) => needs.models.every((m) => w.modelFiles.includes(m)))) return undefined;
    if (candidates.length === 0 && refusedBy.size === 0) return undefined; // no worker at all yet: wait for one
    const missing = needs.models.filter((m) => !candidates.some((w) => w.modelFiles.includes(m)));
    const names = missing.length ? missing : needs.models;
    return failure(
      'MissingModelFiles',
      `No worker has the model file${names.length === 1 ? '' : 's'} ${names.map((m) => `models/${m}`).join(', ')}` +
        (refusedBy.size ? ` (refused by ${[...refusedBy].join(', ')})` : ''),
    );
  }

  /**
   * Free slots of a live worker: the prompts it took that have not finished, and an outstanding take. Its own
   * announcement is up to a heartbeat old, so it only adds prompts this server has not seen it take (resumed ones).
   */
  #freeSlots(w: WorkerAnnouncement): number {
    const busy = new Set<string>();
    for (const [id, f] of this.#flights) if (f.worker === w.name || (!f.worker && w.running.includes(id))) busy.add(id);
    return w.concurrency - busy.size - (this.#take?.worker === w.name ? 1 : 0);
  }

  /** Sends one `take` (one at a time: each lands on the job at the head of the queue) to the best free worker. */
  #dispatch(): void {
    if (this.#closed) return;
    if (this.#take && Date.now() - this.#take.at < TAKE_TIMEOUT_MS) return;
    this.#take = undefined;
    const next = [...this.#flights.values()].find((f) => !f.worker && !f.taking);
    if (!next) return;
    const worker = this.#choose(next);
    if (!worker) return;
    const id = randomUUID();
    next.taking = true;
    this.#take = { id, worker: worker.name, at: Date.now() };
    void this.#control({ type: 'take', worker: worker.name, takeId: id });
  }

  /** Cache affinity: a free worker with all the prompt's models loaded, else one with all its files, fewest running first. */
  #choose(f: Flight): WorkerAnnouncement | undefined {
    const affinity = this.#o.routing !== 'files';
    const score = (w: WorkerAnnouncement) =>
      affinity && f.needs.models.every((m) => w.modelsLoaded.includes(m)) ? 2 : f.needs.models.every((m) => w.modelFiles.includes(m)) ? 1 : 0;
    let best: WorkerAnnouncement | undefined;
    for (const w of this.#live()) {
      if (f.refusedBy.has(w.name) || this.#freeSlots(w) <= 0 || score(w) === 0) continue;
      if (!best || score(w) > score(best) || (score(w) === score(best) && w.running.length < best.running.length)) best = w;
    }
    return best;
  }

  #onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'event':
        this.#flights.get(msg.promptId)?.onEvent(msg.event);
        return;
      case 'taken': {
        if (this.#take?.id === msg.takeId) this.#take = undefined;
        for (const f of this.#flights.values()) if (f.taking) f.taking = false;
        const f = msg.promptId ? this.#flights.get(msg.promptId) : undefined;
        if (f) f.worker = msg.worker;
        this.#dispatch();
        return;
      }
      case 'refused': {
        const f = this.#flights.get(msg.promptId);
        const w = this.#workers.get(msg.worker);
        if (w) w.modelFiles = w.modelFiles.filter((m) => !msg.missing.includes(m));
        if (!f) return;
        f.worker = undefined;
        f.refusedBy.add(msg.worker);
        const lacking = this.#nobodyHas(f.needs, f.refusedBy);
        if (lacking) {
          void this.#queue.remove(msg.promptId).finally(() => this.#settle(msg.promptId, lacking));
          return;
        }
        this.#dispatch();
        return;
      }
      case 'finished':
        void this.#check(msg.promptId, true);
        return;
      case 'hello':
        void this.#poll();
        return;
    }
  }

  /** Reads the job's state; a finished job settles its prompt (at once when `now`, else on the second sighting). */
  async #check(promptId: string, now: boolean): Promise<void> {
    const f = this.#flights.get(promptId);
    if (!f) return;
    const job = await Job.fromId<RemoteJobData, RunResult>(this.#queue, promptId);
    if (!job) {
      this.#settle(promptId, failure('JobLost', 'The prompt\'s job is no longer in Redis (was Redis restarted without persistence?)'));
      return;
    }
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      if (!now && !f.seenFinished) {
        f.seenFinished = true;
        return;
      }
      const result =
        state === 'completed'
          ? job.returnvalue
          : failure('WorkerLost', stalledMessage(job.failedReason, (this.#o.maxStalls ?? 1) + 1));
      // The worker's next announcement will say so too; routing the very next prompt should not wait for it.
      const w = f.worker ? this.#workers.get(f.worker) : undefined;
      if (w && result.status === 'success') w.modelsLoaded = [...new Set([...w.modelsLoaded, ...f.needs.models])];
      this.#settle(promptId, result);
      // SQLite has it now (the queue writes history as soon as this resolves); Redis no longer needs it.
      await job.remove().catch(() => {});
      return;
    }
    if ((state === 'waiting' || state === 'prioritized') && job.deferredFailure) {
      // BullMQ marked it when it stalled once too often; it fails it only when a worker next fetches it, and there
      // may be none. Record the failure now.
      if (await job.remove().then(() => true, () => false)) {
        this.#settle(promptId, failure('WorkerLost', stalledMessage(job.deferredFailure, (this.#o.maxStalls ?? 1) + 1)));
      }
      return;
    }
    if (state === 'waiting' || state === 'prioritized') {
      // Back in the queue (its worker died and the stalled-job checker returned it, or it was never taken).
      if (f.worker && !this.#live().some((w) => w.name === f.worker && w.running.includes(promptId))) f.worker = undefined;
    }
  }

  /** Reads announcements, forgets dead workers, checks running jobs, sends the next take. */
  async #poll(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      const names = await this.#redis.smembers(this.#keys.workers);
      const raw = names.length ? await this.#redis.mget(...names.map((n) => this.#keys.worker(n))) : [];
      this.#workers.clear();
      names.forEach((name, i) => {
        const text = raw[i];
        if (text) this.#workers.set(name, JSON.parse(text) as WorkerAnnouncement);
        else void this.#redis.srem(this.#keys.workers, name);
      });
      for (const f of this.#flights.values()) if (f.worker && !this.#workers.has(f.worker)) f.worker = undefined;
      await Promise.all([...this.#flights.keys()].map((id) => this.#check(id, false)));
      // Every time, not only when the capacity grew during this poll: a worker's announcement can look stale (and
      // the capacity 0) for a moment between two polls, and a prompt submitted then must not wait for ever.
      if (this.capacity() > 0) for (const l of this.#listeners) l();
      this.#dispatch();
    } catch (error) {
      if (!this.#closed) this.#log(`checking workers failed: ${describe(error)}`);
    } finally {
      this.#ticking = false;
    }
  }

  async #control(msg: ControlMessage): Promise<void> {
    await this.#redis.publish(this.#keys.control, encodeMessage(msg));
  }
}

function failure(type: string, message: string): RunResult {
  return { status: 'error', outputs: {}, messages: [], error: { type, message } };
}

function stalledMessage(reason: string | undefined, attempts: number): string {
  if (reason && /stalled/i.test(reason)) {
    return `The worker running this prompt stopped (killed or lost) ${attempts} time${attempts === 1 ? '' : 's'}; not trying again (${reason})`;
  }
  return reason ?? 'The prompt failed on its worker';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
