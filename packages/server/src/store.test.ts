import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import type { HistoryEntry, QueueItem } from './store.ts';
import { tempDataDir } from './test-support/harness.ts';

const dirs: string[] = [];
function openStore(options?: { maxHistory?: number }): { store: Store; file: string } {
  const dir = tempDataDir();
  dirs.push(dir);
  const file = join(dir, 'db.sqlite');
  return { store: new Store(file, options), file };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const item = (n: number, id: string): QueueItem => [n, id, { '1': { class_type: 'X', inputs: {} } }, {}, ['1']];
const entry = (i: QueueItem): HistoryEntry => ({ prompt: i, outputs: {}, status: { status_str: 'success', completed: true, messages: [] }, meta: {} });

describe('Store', () => {
  it('keeps the queue in number order, ties by arrival, across reopening', () => {
    const { store, file } = openStore();
    store.enqueue(item(2, 'b'), 'c1');
    store.enqueue(item(1, 'a'), null);
    store.enqueue(item(2, 'c'), null);
    store.enqueue(item(-5, 'front'), null);
    store.close();
    const again = new Store(file);
    expect(again.queued().map((p) => p.promptId)).toEqual(['front', 'a', 'b', 'c']);
    expect(again.queued().find((p) => p.promptId === 'b')!.clientId).toBe('c1');
    expect(again.maxNumber()).toBe(5);
    again.close();
  });

  it('moves a prompt to history atomically and marks running state', () => {
    const { store } = openStore();
    store.enqueue(item(0, 'a'), null);
    store.markRunning('a');
    expect(store.queued()[0]!.state).toBe('running');
    expect(store.deletePending(['a'])).toBe(0);
    store.finish('a', entry(item(0, 'a')));
    expect(store.queued()).toEqual([]);
    expect(store.historyEntry('a')!.status.status_str).toBe('success');
    expect(store.hasPrompt('a')).toBe(true);
    expect(store.hasPrompt('zz')).toBe(false);
    store.close();
  });

  it('pages, deletes, clears and trims history', () => {
    const { store } = openStore({ maxHistory: 5 });
    for (let i = 0; i < 7; i++) {
      store.enqueue(item(i, `p${i}`), null);
      store.finish(`p${i}`, entry(item(i, `p${i}`)));
    }
    expect(store.history().map(([id]) => id)).toEqual(['p2', 'p3', 'p4', 'p5', 'p6']);
    expect(store.history(2).map(([id]) => id)).toEqual(['p5', 'p6']);
    expect(store.history(2, 1).map(([id]) => id)).toEqual(['p3', 'p4']);
    expect(store.history(undefined, 4).map(([id]) => id)).toEqual(['p6']);
    expect(JSON.parse(store.history(1)[0]![1]).prompt[1]).toBe('p6');
    store.deleteHistory(['p3', 'nope']);
    expect(store.historyCount()).toBe(4);
    store.clearHistory();
    expect(store.history()).toEqual([]);
    store.close();
  });

  it('group-commits a burst, failing only a duplicate id', async () => {
    const { store } = openStore();
    const results = await Promise.allSettled([
      store.enqueueBatched(item(0, 'x'), null),
      store.enqueueBatched(item(0, 'x'), null),
      store.enqueueBatched(item(0, 'y'), null),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(store.queued().map((p) => p.promptId)).toEqual(['x', 'y']);
    store.close();
  });

  it('deletes and clears only pending prompts', () => {
    const { store } = openStore();
    for (const id of ['a', 'b', 'c']) store.enqueue(item(0, id), null);
    store.markRunning('a');
    expect(store.deletePending(['b'])).toBe(1);
    expect(store.clearPending()).toBe(1);
    expect(store.queued().map((p) => p.promptId)).toEqual(['a']);
    store.markPending('a');
    expect(store.queued()[0]!.state).toBe('pending');
    store.close();
  });
});
