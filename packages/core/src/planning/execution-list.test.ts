import { describe, expect, it } from 'vitest';
import { DependencyCycleError } from '../errors.ts';
import { buildGraph } from '../graph.ts';
import type { ApiPrompt } from '../node-api.ts';
import { ExecutionList } from './execution-list.ts';

const allStrong = () => undefined;
const noneResolved = () => false;

/** Completes ready nodes in waves until nothing is ready; returns the waves. */
function drain(list: ExecutionList): string[][] {
  const waves: string[][] = [];
  for (;;) {
    const ready = list.takeReady();
    if (ready.length === 0) return waves;
    waves.push(ready);
    for (const id of ready) list.complete(id);
  }
}

const diamond: ApiPrompt = {
  a: { class_type: 'X', inputs: {} },
  b: { class_type: 'X', inputs: { x: ['a', 0] } },
  c: { class_type: 'X', inputs: { x: ['a', 0] } },
  d: { class_type: 'X', inputs: { l: ['b', 0], r: ['c', 0] } },
  unrelated: { class_type: 'X', inputs: {} },
};

describe('ExecutionList', () => {
  it('orders a diamond: each node only after all of its sources', () => {
    const list = new ExecutionList(buildGraph(diamond), allStrong, noneResolved);
    list.addNode('d');
    expect(drain(list)).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(list.pendingCount).toBe(0);
  });

  it('schedules only the target and its ancestors', () => {
    const list = new ExecutionList(buildGraph(diamond), allStrong, noneResolved);
    list.addNode('b');
    expect(drain(list).flat()).toEqual(['a', 'b']);
    expect(list.isDone('unrelated')).toBe(false);
  });

  it('never schedules resolved (cached) nodes or anything behind them', () => {
    const list = new ExecutionList(buildGraph(diamond), allStrong, (id) => id === 'b' || id === 'c');
    list.addNode('d');
    expect(drain(list)).toEqual([['d']]);
  });

  it('links a source used by two inputs of one node once', () => {
    const prompt: ApiPrompt = {
      a: { class_type: 'X', inputs: {} },
      b: { class_type: 'X', inputs: { x: ['a', 0], y: ['a', 1] } },
    };
    const list = new ExecutionList(buildGraph(prompt), allStrong, noneResolved);
    list.addNode('b');
    expect(drain(list)).toEqual([['a'], ['b']]);
  });

  it('does not follow weak (lazy) inputs until a strong link is added', () => {
    const prompt: ApiPrompt = {
      a: { class_type: 'X', inputs: {} },
      lazySource: { class_type: 'X', inputs: {} },
      mix: { class_type: 'X', inputs: { x: ['a', 0], lazy: ['lazySource', 0] } },
    };
    const list = new ExecutionList(buildGraph(prompt), () => new Set(['lazy']), noneResolved);
    list.addNode('mix');
    expect(list.takeReady()).toEqual(['a']);
    list.complete('a');
    expect(list.takeReady()).toEqual(['mix']);
    // mix now asks for its lazy input: it goes back to waiting, and the source gets scheduled.
    expect(list.addStrongLink('lazySource', 'mix')).toBe(true);
    list.requeue('mix');
    expect(list.takeReady()).toEqual(['lazySource']);
    list.complete('lazySource');
    expect(list.takeReady()).toEqual(['mix']);
    list.complete('mix');
    expect(list.pendingCount).toBe(0);
  });

  it('addStrongLink reports nothing to wait for when the source is done or resolved', () => {
    const list = new ExecutionList(buildGraph(diamond), allStrong, (id) => id === 'unrelated');
    list.addNode('b');
    drain(list);
    expect(list.addStrongLink('a', 'b')).toBe(false);
    expect(list.addStrongLink('unrelated', 'b')).toBe(false);
  });

  it('finds a dependency cycle when pending nodes wait on each other', () => {
    const prompt: ApiPrompt = {
      a: { class_type: 'X', inputs: { x: ['c', 0] } },
      b: { class_type: 'X', inputs: { x: ['a', 0] } },
      c: { class_type: 'X', inputs: { x: ['b', 0] } },
      out: { class_type: 'X', inputs: { x: ['c', 0] } },
    };
    const list = new ExecutionList(buildGraph(prompt), allStrong, noneResolved);
    list.addNode('out');
    expect(list.takeReady()).toEqual([]);
    expect(new Set(list.findCycle())).toEqual(new Set(['a', 'b', 'c']));
    expect(() => list.assertNoCycle()).toThrow(DependencyCycleError);
  });

  it('reports no cycle while work can still progress', () => {
    const list = new ExecutionList(buildGraph(diamond), allStrong, noneResolved);
    list.addNode('d');
    expect(list.findCycle()).toBeUndefined();
    list.takeReady();
    expect(list.findCycle()).toBeUndefined(); // 'a' is staged, so 'b' and 'c' will become ready
  });

  it('skips links to nodes missing from the prompt (the consumer fails when it runs)', () => {
    const prompt: ApiPrompt = { b: { class_type: 'X', inputs: { x: ['ghost', 0] } } };
    const list = new ExecutionList(buildGraph(prompt), allStrong, noneResolved);
    list.addNode('b');
    expect(drain(list)).toEqual([['b']]);
  });

  it('handles a 10,000-node chain without recursion limits', () => {
    const prompt: ApiPrompt = {};
    for (let i = 0; i < 10_000; i++) prompt[`n${i}`] = { class_type: 'X', inputs: i ? { x: [`n${i - 1}`, 0] } : {} };
    const list = new ExecutionList(buildGraph(prompt), allStrong, noneResolved);
    list.addNode('n9999');
    const order = drain(list).flat();
    expect(order.length).toBe(10_000);
    expect(order[0]).toBe('n0');
    expect(order[9999]).toBe('n9999');
  });
});
