import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '@uso-studio/core';
import type { Engine, EngineJob } from './engine.ts';
import { PromptQueue, RESTART_FAILURE_MESSAGE } from './prompt-queue.ts';
import { Store } from './store.ts';
import type { QueueItem } from './store.ts';
import { tempDataDir } from './test-support/harness.ts';
import type { RunResult } from './worker-protocol.ts';
import type { WsHub } from './ws-hub.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An engine that emits a fixed event script per prompt, without a worker. */
function fakeEngine(script: (job: EngineJob) => { events: ExecutionEvent[]; result: RunResult }) {
  const ran: string[] = [];
  const engine = {
    capacity: () => 1,
    onCapacityChange: () => {},
    interrupt: () => false,
    async run(job: EngineJob, onEvent: (e: ExecutionEvent) => void) {
      ran.push(job.promptId);
      await new Promise((r) => setTimeout(r, 1));
      const s = script(job);
      for (const e of s.events) onEvent(e);
      return s.result;
    },
  };
  return { engine: engine as unknown as Engine, ran };
}

function fakeHub() {
  const sent: { sid: string | null; type: string; data: any }[] = [];
  const hub = { send: (sid: string | null, type: string, data: unknown) => sent.push({ sid, type, data }), sendPreview: () => {} };
  return { hub: hub as unknown as WsHub, sent };
}

const item = (n: number, id: string): QueueItem => [n, id, { '1': { class_type: 'X', inputs: {} } }, {}, ['1']];

describe('PromptQueue', () => {
  it('records a prompt left running by a dead server as failed and runs the pending ones in order', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const file = join(dir, 'q.sqlite');
    const store = new Store(file);
    store.enqueue(item(0, 'crashed'), 'c');
    store.markRunning('crashed');
    store.enqueue(item(2, 'second'), 'c');
    store.enqueue(item(1, 'first'), 'c');
    const { engine, ran } = fakeEngine((job) => ({ events: [], result: { status: 'success', outputs: { '1': { n: [job.promptId] } }, messages: [] } }));
    const { hub } = fakeHub();
    const queue = new PromptQueue({ store, engine, hub, maxQueue: 10 });
    await new Promise((r) => setTimeout(r, 0));
    await queue.idle();
    expect(ran).toEqual(['first', 'second']);
    const failed = store.historyEntry('crashed')!;
    expect(failed.status).toMatchObject({ status_str: 'error', completed: false });
    expect((failed.status.messages[0]![1] as { exception_message: string }).exception_message).toBe(RESTART_FAILURE_MESSAGE);
    expect(store.history().map(([id]) => id)).toEqual(['crashed', 'first', 'second']);
    expect(queue.nextNumber()).toBe(3);
    store.close();
  });

  it('holds end events until history is written, sends executing null last, then status', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const store = new Store(join(dir, 'q.sqlite'));
    const { engine } = fakeEngine((job) => ({
      events: [
        { type: 'execution_start', data: { prompt_id: job.promptId, timestamp: 1 } },
        { type: 'executing', data: { node: null, prompt_id: job.promptId } },
        { type: 'execution_success', data: { prompt_id: job.promptId, timestamp: 2 } },
      ],
      result: { status: 'success', outputs: {}, messages: [] },
    }));
    const { hub, sent } = fakeHub();
    let historyAtEnd: unknown;
    const realSend = hub.send.bind(hub);
    (hub as unknown as { send: typeof hub.send }).send = (sid, type, data) => {
      if (type === 'executing') historyAtEnd = store.historyEntry('p');
      realSend(sid, type, data);
    };
    const queue = new PromptQueue({ store, engine, hub, maxQueue: 10 });
    await queue.submit(item(0, 'p'), 'me');
    await queue.idle();
    await new Promise((r) => setImmediate(r)); // status is coalesced to the next turn
    const types = sent.map((s) => s.type);
    expect(types).toEqual(['status', 'execution_start', 'execution_success', 'executing', 'status']);
    expect(sent.filter((s) => s.type !== 'status').every((s) => s.sid === 'me')).toBe(true);
    expect(sent.filter((s) => s.type === 'status').every((s) => s.sid === null)).toBe(true);
    expect(historyAtEnd).toBeDefined();
    store.close();
  });

  it('reports fullness by pending count', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const store = new Store(join(dir, 'q.sqlite'));
    const { engine } = fakeEngine(() => ({ events: [], result: { status: 'success', outputs: {}, messages: [] } }));
    const queue = new PromptQueue({ store, engine, hub: fakeHub().hub, maxQueue: 2, paused: true });
    const a = queue.submit(item(0, 'a'), null);
    expect(queue.isFull()).toBe(false);
    const b = queue.submit(item(1, 'b'), null);
    // Prompts still being committed count: a burst cannot overshoot the limit.
    expect(queue.isFull()).toBe(true);
    await Promise.all([a, b]);
    expect(queue.isFull()).toBe(true);
    expect(queue.remaining).toBe(2);
    store.close();
  });

  it('starts a prompt, and nothing queued after it, only once its submitter has been answered', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const store = new Store(join(dir, 'q.sqlite'));
    const { engine, ran } = fakeEngine(() => ({ events: [], result: { status: 'success', outputs: {}, messages: [] } }));
    const queue = new PromptQueue({ store, engine, hub: fakeHub().hub, maxQueue: 10 });
    let answer!: () => void;
    await queue.submit(item(0, 'held'), null, new Promise<void>((r) => (answer = r)));
    await queue.submit(item(1, 'after'), null);
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual([]);
    expect(queue.snapshot().pending.map((p) => p[1])).toEqual(['held', 'after']);
    answer();
    await new Promise((r) => setTimeout(r, 0));
    await queue.idle();
    expect(ran).toEqual(['held', 'after']);
    // A submitter that went away (a rejected promise) releases the prompt too.
    await queue.submit(item(2, 'gone'), null, Promise.reject(new Error('connection closed')));
    await new Promise((r) => setTimeout(r, 0));
    await queue.idle();
    expect(ran).toEqual(['held', 'after', 'gone']);
    store.close();
  });
});

describe('PromptQueue with an engine that runs several prompts at once', () => {
  it('starts no more than capacity(), in queue order, and starts more when capacity grows', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const store = new Store(join(dir, 'q.sqlite'));
    let capacity = 2;
    let grow: () => void = () => {};
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const engine = {
      capacity: () => capacity,
      onCapacityChange: (listener: () => void) => (grow = listener),
      interrupt: () => false,
      run: (job: EngineJob) =>
        new Promise<RunResult>((resolve) => {
          started.push(job.promptId);
          release.set(job.promptId, () => resolve({ status: 'success', outputs: {}, messages: [] }));
        }),
    } as unknown as Engine;
    const queue = new PromptQueue({ store, engine, hub: fakeHub().hub, maxQueue: 10 });
    for (const [n, id] of [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd']] as const) await queue.submit(item(n, id), null);
    expect(started).toEqual(['a', 'b']);
    expect(queue.snapshot().running.map((i) => i[1])).toEqual(['a', 'b']);
    expect(queue.remaining).toBe(4);
    capacity = 3;
    grow();
    expect(started).toEqual(['a', 'b', 'c']);
    release.get('b')!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(store.historyEntry('b')?.status.status_str).toBe('success');
    for (const id of ['a', 'c', 'd']) release.get(id)!();
    await queue.idle();
    expect(store.history().length).toBe(4);
    store.close();
  });
});
