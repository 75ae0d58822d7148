/**
 * The durable queue and history, in one SQLite file. Every accepted prompt is written here before the client hears
 * 200, and a finished prompt moves from `queue` to `history` in one transaction, so a kill -9 at any instant leaves
 * each prompt in exactly one of the two tables.
 */
import Database from 'better-sqlite3';
import type { ApiPrompt } from '@uso-studio/core';
import { isDiskFull } from './disk-full.ts';
import { openQueueDatabase } from './queue-database.ts';

/** ComfyUI's queue item: `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export type QueueItem = [number, string, ApiPrompt, Record<string, unknown>, string[]];

export interface StoredPrompt {
  seq: number;
  promptId: string;
  number: number;
  clientId: string | null;
  item: QueueItem;
  state: 'pending' | 'running';
}

export interface HistoryEntry {
  prompt: QueueItem;
  outputs: Record<string, unknown>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: [string, unknown][] };
  meta: Record<string, { node_id: string; display_node: string; parent_node: string | null; real_node_id: string }>;
}

interface PendingInsert {
  item: QueueItem;
  clientId: string | null;
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

interface QueueRow { seq: number; prompt_id: string; number: number; client_id: string | null; item: string; state: string }

export class Store {
  readonly #db: Database.Database;
  readonly #insertQueue: Database.Statement;
  readonly #deleteQueue: Database.Statement;
  readonly #setState: Database.Statement;
  readonly #insertHistory: Database.Statement;
  readonly #deleteHistory: Database.Statement;
  readonly #trimHistory: Database.Statement;
  readonly #getHistory: Database.Statement;
  readonly #countHistory: Database.Statement;
  readonly #pageHistory: Database.Statement;
  readonly #finish: (promptId: string, entry: HistoryEntry) => void;
  readonly #insertMany: (batch: PendingInsert[]) => (number | { error: unknown })[];
  #batch: PendingInsert[] = [];
  /**
   * Finished prompts whose history row the disk had no room for: served from here (so a prompt is never lost from
   * both /queue and /history) and written, with the queue row removed, as soon as a retry succeeds.
   */
  readonly #unwritten = new Map<string, HistoryEntry>();
  /**
   * Held entries the user deleted before they could be written: nothing goes to history, but their queue rows must
   * still go (else they would wait there until a restart records them as failed). Removed by the same retry.
   */
  readonly #queueRowsToRelease = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  /** Bytes of the queued prompts' JSON; undefined once a removal made it stale (recounted on the next read). */
  #queueBytes: number | undefined;
  readonly maxHistory: number;

  constructor(file: string, options: { maxHistory?: number } = {}) {
    this.maxHistory = options.maxHistory ?? 10_000;
    // A file that is not SQLite or is damaged stops the server here with a message saying how to recover.
    this.#db = openQueueDatabase(file, (db) => {
      // WAL + NORMAL: a committed transaction survives a killed process (only an OS crash can lose the last ones),
      // and commits cost no fsync, which is what lets POST /prompt reach thousands per second.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.exec(`
        CREATE TABLE IF NOT EXISTS queue (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          prompt_id TEXT NOT NULL UNIQUE,
          number REAL NOT NULL,
          client_id TEXT,
          item TEXT NOT NULL,
          state TEXT NOT NULL DEFAULT 'pending',
          created_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS history (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          prompt_id TEXT NOT NULL UNIQUE,
          number REAL NOT NULL,
          entry TEXT NOT NULL,
          completed_at REAL NOT NULL
        );
      `);
    });
    this.#insertQueue = this.#db.prepare(
      'INSERT INTO queue (prompt_id, number, client_id, item, state, created_at) VALUES (?, ?, ?, ?, \'pending\', ?)',
    );
    this.#deleteQueue = this.#db.prepare('DELETE FROM queue WHERE prompt_id = ?');
    this.#setState = this.#db.prepare('UPDATE queue SET state = ? WHERE prompt_id = ?');
    this.#insertHistory = this.#db.prepare(
      'INSERT OR REPLACE INTO history (prompt_id, number, entry, completed_at) VALUES (?, ?, ?, ?)',
    );
    this.#deleteHistory = this.#db.prepare('DELETE FROM history WHERE prompt_id = ?');
    this.#trimHistory = this.#db.prepare(
      'DELETE FROM history WHERE seq <= (SELECT seq FROM history ORDER BY seq DESC LIMIT 1 OFFSET ?)',
    );
    this.#getHistory = this.#db.prepare('SELECT entry FROM history WHERE prompt_id = ?');
    this.#countHistory = this.#db.prepare('SELECT count(*) AS n FROM history');
    this.#pageHistory = this.#db.prepare('SELECT prompt_id, entry FROM history ORDER BY seq LIMIT ? OFFSET ?');
    // A failing row (a duplicate prompt_id) fails alone: SQLite aborts only that statement, the transaction goes on.
    this.#insertMany = this.#db.transaction((batch: PendingInsert[]) =>
      batch.map((b): number | { error: unknown } => {
        try {
          return this.enqueue(b.item, b.clientId);
        } catch (error) {
          return { error };
        }
      }),
    );
    this.#finish = this.#db.transaction((promptId: string, entry: HistoryEntry) => {
      this.#deleteQueue.run(promptId);
      this.#insertHistory.run(promptId, entry.prompt[0], JSON.stringify(entry), Date.now());
      this.#trimHistory.run(this.maxHistory);
    });
  }

  /** Persists a new pending prompt; returns its insertion sequence (ties in `number` run in this order). */
  enqueue(item: QueueItem, clientId: string | null): number {
    const json = JSON.stringify(item);
    const info = this.#insertQueue.run(item[1], item[0], clientId, json, Date.now());
    if (this.#queueBytes !== undefined) this.#queueBytes += Buffer.byteLength(json);
    return Number(info.lastInsertRowid);
  }

  /**
   * Bytes the queued prompts (pending and running) occupy as JSON. Insertions keep a running count; after a removal
   * it is recounted once with octet_length, which SQLite answers from the record headers without reading the text.
   */
  queuedBytes(): number {
    this.#queueBytes ??= (this.#db.prepare('SELECT coalesce(sum(octet_length(item)), 0) AS n FROM queue').get() as { n: number }).n;
    return this.#queueBytes;
  }

  /**
   * Group commit: prompts submitted in the same event-loop turn are inserted in one transaction, and each promise
   * resolves (with its sequence) only once that transaction has committed. Under load this amortises the commit
   * over many requests; a lone request waits one setImmediate.
   */
  enqueueBatched(item: QueueItem, clientId: string | null): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#batch.push({ item, clientId, resolve, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    let results: (number | { error: unknown })[];
    try {
      results = this.#insertMany(batch);
    } catch (error) {
      for (const b of batch) b.reject(error);
      return;
    }
    batch.forEach((b, i) => {
      const r = results[i]!;
      if (typeof r === 'number') b.resolve(r);
      else b.reject(r.error);
    });
  }

  /** Every queued prompt, pending and running, in run order. */
  queued(): StoredPrompt[] {
    const rows = this.#db.prepare('SELECT * FROM queue ORDER BY number, seq').all() as QueueRow[];
    return rows.map((r) => ({
      seq: r.seq,
      promptId: r.prompt_id,
      number: r.number,
      clientId: r.client_id,
      item: JSON.parse(r.item) as QueueItem,
      state: r.state === 'running' ? 'running' : 'pending',
    }));
  }

  /**
   * The state only matters after a restart (a 'running' row is failed or re-queued, a 'pending' one runs again), so
   * a full disk must not stop the queue here: the row then stays as it was, and a restart would run it again.
   */
  markRunning(promptId: string): void {
    this.#setStateUnlessDiskFull('running', promptId);
  }

  markPending(promptId: string): void {
    this.#setStateUnlessDiskFull('pending', promptId);
  }

  #setStateUnlessDiskFull(state: 'running' | 'pending', promptId: string): void {
    try {
      this.#setState.run(state, promptId);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
  }

  /** Removes pending prompts (never a running one); returns how many went. */
  deletePending(promptIds: readonly string[]): number {
    this.#queueBytes = undefined;
    const del = this.#db.prepare("DELETE FROM queue WHERE prompt_id = ? AND state = 'pending'");
    let n = 0;
    this.#db.transaction(() => {
      for (const id of promptIds) n += del.run(id).changes;
    })();
    return n;
  }

  clearPending(): number {
    this.#queueBytes = undefined;
    return this.#db.prepare("DELETE FROM queue WHERE state = 'pending'").run().changes;
  }

  /** Moves a prompt from the queue to history atomically. */
  /**
   * Moves a prompt from the queue to history atomically. On a full disk the entry is kept in memory (visible in
   * history) and retried every second until it is written; the error is still thrown so the caller can log it.
   */
  finish(promptId: string, entry: HistoryEntry): void {
    this.#queueBytes = undefined;
    try {
      this.#finish(promptId, entry);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.#unwritten.set(promptId, entry);
      this.#retryLater();
      throw new Error(`disk full: the history entry of ${promptId} is kept in memory and written when space returns (${(error as Error).message})`);
    }
  }

  #retryLater(): void {
    this.#retryTimer ??= setInterval(() => this.#catchUp(), 1000).unref();
  }

  /**
   * Releases the queue rows of deleted held entries, then writes the other held entries oldest first, stopping at
   * the first failure (the disk is still full); the retry stops once nothing is left.
   */
  #catchUp(): void {
    for (const promptId of this.#queueRowsToRelease) {
      try {
        this.#deleteQueue.run(promptId);
      } catch {
        return;
      }
      this.#queueRowsToRelease.delete(promptId);
    }
    for (const [promptId, entry] of this.#unwritten) {
      try {
        this.#finish(promptId, entry);
      } catch {
        return;
      }
      this.#unwritten.delete(promptId);
    }
    clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** Forgets held entries that are deleted: their queue rows are released now, or by the retry once there is room. */
  #dropUnwritten(promptIds: Iterable<string>): void {
    let dropped = false;
    for (const id of promptIds) {
      if (!this.#unwritten.delete(id)) continue;
      this.#queueRowsToRelease.add(id);
      dropped = true;
    }
    if (!dropped) return;
    this.#queueBytes = undefined;
    this.#retryLater();
    this.#catchUp();
  }

  /** Queue rows of deleted held entries not yet removed (disk full). */
  get unreleasedCount(): number {
    return this.#queueRowsToRelease.size;
  }

  /** History entries not yet written (disk full). */
  get unwrittenCount(): number {
    return this.#unwritten.size;
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    const held = this.#unwritten.get(promptId);
    if (held) return held;
    const row = this.#getHistory.get(promptId) as { entry: string } | undefined;
    return row ? (JSON.parse(row.entry) as HistoryEntry) : undefined;
  }

  historyCount(): number {
    return (this.#countHistory.get() as { n: number }).n + this.#unwritten.size;
  }

  /**
   * History in insertion order as `[prompt_id, entry JSON]` (kept as text: responses splice it in unparsed).
   * ComfyUI's paging: with `maxItems` and no `offset`, the newest `maxItems`.
   */
  history(maxItems?: number, offset?: number): [string, string][] {
    let start = offset ?? -1;
    if (start < 0 && maxItems !== undefined) start = this.historyCount() - maxItems;
    start = Math.max(0, start);
    if (this.#unwritten.size > 0) {
      // Rare (a full disk): page over the stored rows followed by the held ones.
      const all = (this.#pageHistory.all(-1, 0) as { prompt_id: string; entry: string }[]).map((r): [string, string] => [r.prompt_id, r.entry]);
      for (const [id, entry] of this.#unwritten) all.push([id, JSON.stringify(entry)]);
      return all.slice(start, maxItems === undefined ? undefined : start + maxItems);
    }
    const rows = this.#pageHistory.all(maxItems ?? -1, start) as { prompt_id: string; entry: string }[];
    return rows.map((r) => [r.prompt_id, r.entry]);
  }

  deleteHistory(promptIds: readonly string[]): void {
    this.#dropUnwritten(promptIds);
    this.#db.transaction(() => {
      for (const id of promptIds) this.#deleteHistory.run(id);
    })();
  }

  clearHistory(): void {
    this.#dropUnwritten([...this.#unwritten.keys()]);
    this.#db.prepare('DELETE FROM history').run();
  }

  /** The largest `number` ever handed out, so numbering continues across restarts. */
  maxNumber(): number {
    const row = this.#db
      .prepare('SELECT max(m) AS m FROM (SELECT max(abs(number)) AS m FROM queue UNION ALL SELECT max(abs(number)) FROM history)')
      .get() as { m: number | null };
    return row.m ?? -1;
  }

  hasPrompt(promptId: string): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM queue WHERE prompt_id = ? UNION ALL SELECT 1 FROM history WHERE prompt_id = ?').get(promptId, promptId) !==
      undefined
    );
  }

  close(): void {
    this.#catchUp();
    this.#db.close();
  }
}
