/** Engine behaviour driven through the testing node pack: lazy inputs, lists, concurrency, events, interrupts. */
import { describe, expect, it } from 'vitest';
import type { ApiPrompt, ExecutionEvent } from '../../packages/core/src/index.ts';
import { createHarness } from './helpers.ts';

const branch = (label: string) => ({ class_type: 'TestCounter', inputs: { label } });

describe('lazy inputs', () => {
  const mix = (ratio: number): ApiPrompt => ({
    a: branch('a'),
    b: branch('b'),
    mix: { class_type: 'TestLazyMix', inputs: { ratio, a: ['a', 0], b: ['b', 0] } },
    out: { class_type: 'TestOutput', inputs: { value: ['mix', 0] } },
  });

  it('evaluates only the lazy inputs the node asks for; the other branch never runs', async () => {
    const h = createHarness();
    const onlyA = await h.run(mix(0));
    expect(onlyA.outcome.status).toBe('success');
    expect(onlyA.ran).toEqual(['a', 'mix', 'out']);
    expect(h.probe.counters.has('b')).toBe(false);
    const onlyB = await createHarness().run(mix(1));
    expect(onlyB.ran).toEqual(['b', 'mix', 'out']);
  });

  it('evaluates both when both are needed', async () => {
    const { ran, outcome } = await createHarness().run(mix(0.5));
    expect(ran.sort()).toEqual(['a', 'b', 'mix', 'out']);
    expect(outcome.outputs['out']).toEqual({ text: [1] }); // 0.5 * 1 + 0.5 * 1
  });

  it('a lazy branch runs after the node asked for it, and the node runs once', async () => {
    const h = createHarness();
    const { ran, events } = await h.run({
      t: branch('t'),
      f: branch('f'),
      s: { class_type: 'TestSwitch', inputs: { switch: false, on_true: ['t', 0], on_false: ['f', 0] } },
      o: { class_type: 'TestOutput', inputs: { value: ['s', 0] } },
    });
    expect(ran).toEqual(['f', 's', 'o']);
    const executing = events.flatMap((e) => (e.type === 'executing' && e.data.node !== null ? [e.data.node] : []));
    expect(executing).toEqual(['s', 'f', 'o']); // s is announced, asks for f, then completes
  });

  it('without checkLazy, every linked lazy input is evaluated', async () => {
    const { ran, outcome } = await createHarness().run({
      x: { class_type: 'TestConstant', inputs: { value: 2 } },
      y: { class_type: 'TestConstant', inputs: { value: 3 } },
      d: { class_type: 'TestLazyDefault', inputs: { a: ['x', 0], b: ['y', 0] } },
      o: { class_type: 'TestOutput', inputs: { value: ['d', 0] } },
    });
    expect(ran.sort()).toEqual(['d', 'o', 'x', 'y']);
    expect(outcome.outputs['o']).toEqual({ text: [5] });
  });
});

describe('lists', () => {
  it('a node runs once per element of a list input, and UI output concatenates', async () => {
    const h = createHarness();
    const { ran, outcome } = await h.run({
      list: { class_type: 'TestList', inputs: { start: 1, count: 3 } },
      add: { class_type: 'TestAdd', inputs: { a: ['list', 0], b: 10 } },
      out: { class_type: 'TestOutput', inputs: { value: ['add', 0] } },
    });
    expect(ran.filter((id) => id === 'add')).toHaveLength(3);
    expect(ran.filter((id) => id === 'out')).toHaveLength(3);
    expect(outcome.outputs['out']).toEqual({ text: [11, 12, 13] });
  });

  it('broadcasts the longest list, repeating the last element of shorter ones', async () => {
    const { outcome } = await createHarness().run({
      three: { class_type: 'TestList', inputs: { start: 1, count: 3 } },
      two: { class_type: 'TestList', inputs: { start: 10, count: 2 } },
      add: { class_type: 'TestAdd', inputs: { a: ['three', 0], b: ['two', 0] } },
      out: { class_type: 'TestOutput', inputs: { value: ['add', 0] } },
    });
    expect(outcome.outputs['out']).toEqual({ text: [11, 13, 14] });
  });

  it('inputIsList nodes receive the whole list once', async () => {
    const { ran, outcome } = await createHarness().run({
      list: { class_type: 'TestList', inputs: { start: 1, count: 4 } },
      sum: { class_type: 'TestListSum', inputs: { values: ['list', 0] } },
      out: { class_type: 'TestOutput', inputs: { value: ['sum', 0] } },
    });
    expect(ran.filter((id) => id === 'sum')).toHaveLength(1);
    expect(outcome.outputs['out']).toEqual({ text: [10] });
  });

  it('an empty list runs its consumers zero times', async () => {
    const { ran, outcome } = await createHarness().run({
      list: { class_type: 'TestList', inputs: { start: 1, count: 0 } },
      add: { class_type: 'TestAdd', inputs: { a: ['list', 0], b: 1 } },
      out: { class_type: 'TestOutput', inputs: { value: ['add', 0] } },
    });
    expect(outcome.status).toBe('success');
    expect(ran).toEqual(['list']);
    expect(outcome.outputs).toEqual({});
  });
});

describe('concurrency', () => {
  it('independent async nodes overlap in time', async () => {
    const h = createHarness();
    const { outcome } = await h.run({
      s1: { class_type: 'TestSleep', inputs: { value: 1, ms: 50 } },
      s2: { class_type: 'TestSleep', inputs: { value: 2, ms: 50 } },
      o1: { class_type: 'TestOutput', inputs: { value: ['s1', 0] } },
      o2: { class_type: 'TestOutput', inputs: { value: ['s2', 0] } },
    });
    expect(outcome.status).toBe('success');
    const [a, b] = ['s1', 's2'].map((id) => h.probe.runs.find((r) => r.nodeId === id)!);
    expect(a!.start).toBeLessThan(b!.end);
    expect(b!.start).toBeLessThan(a!.end);
  });

  it('a node still waits for all its inputs', async () => {
    const h = createHarness();
    await h.run({
      s1: { class_type: 'TestSleep', inputs: { value: 1, ms: 30 } },
      s2: { class_type: 'TestSleep', inputs: { value: 2, ms: 5 } },
      add: { class_type: 'TestAdd', inputs: { a: ['s1', 0], b: ['s2', 0] } },
      o: { class_type: 'TestOutput', inputs: { value: ['add', 0] } },
    });
    const at = (id: string) => h.probe.runs.find((r) => r.nodeId === id)!;
    expect(at('add').start).toBeGreaterThanOrEqual(at('s1').end);
    expect(at('add').start).toBeGreaterThanOrEqual(at('s2').end);
  });
});

describe('events', () => {
  it('progress calls send progress and progress_state', async () => {
    const { events } = await createHarness().run({
      p: { class_type: 'TestProgress', inputs: { steps: 3, ms: 0 } },
      o: { class_type: 'TestOutput', inputs: { value: ['p', 0] } },
    });
    const progress = events.filter((e) => e.type === 'progress').map((e) => e.data);
    expect(progress).toEqual([1, 2, 3].map((value) => ({ value, max: 3, prompt_id: 'prompt-1', node: 'p' })));
    const states = events.filter((e): e is Extract<ExecutionEvent, { type: 'progress_state' }> => e.type === 'progress_state');
    expect(states.some((e) => e.data.nodes['p']?.state === 'running' && e.data.nodes['p'].value === 2)).toBe(true);
    expect(states.some((e) => e.data.nodes['p']?.state === 'finished')).toBe(true);
  });

  it('previews become preview events naming the node', async () => {
    const { events } = await createHarness().run({
      p: { class_type: 'TestPreview', inputs: {} },
      o: { class_type: 'TestOutput', inputs: { value: ['p', 0] } },
    });
    const preview = events.find((e) => e.type === 'preview');
    expect(preview?.data).toMatchObject({ node_id: 'p', display_node_id: 'p', format: 'PNG', prompt_id: 'prompt-1' });
    expect(preview?.type === 'preview' && preview.data.bytes.length).toBe(8);
  });

  it('hidden inputs: PROMPT, EXTRA_PNGINFO and UNIQUE_ID reach the node', async () => {
    const { outcome } = await createHarness().run(
      { h: { class_type: 'TestHidden', inputs: {} }, x: { class_type: 'TestConstant', inputs: { value: 1 } } },
      { extraData: { extra_pnginfo: { workflow: { nodes: [] } } } },
    );
    expect(outcome.outputs['h']).toEqual({ unique_id: ['h'], prompt_nodes: [2], extra_pnginfo: [{ workflow: { nodes: [] } }] });
  });

  it('execution_error carries the node, its inputs and what ran before', async () => {
    const { outcome, events } = await createHarness().run({
      c: { class_type: 'TestConstant', inputs: { value: 8 } },
      e: { class_type: 'TestError', inputs: { message: 'out of cheese', value: ['c', 0] } },
      o: { class_type: 'TestOutput', inputs: { value: ['e', 0] } },
    });
    expect(outcome.status).toBe('error');
    const error = events.find((e) => e.type === 'execution_error');
    expect(error?.data).toMatchObject({
      node_id: 'e',
      node_type: 'TestError',
      exception_type: 'Error',
      executed: ['c'],
      current_inputs: { message: ['out of cheese'], value: [8] },
    });
    expect(outcome.error?.exception_message).toBe('out of cheese');
    expect(events.filter((e) => e.type === 'executing' && e.data.node === 'o')).toEqual([]);
  });
});

describe('interrupt', () => {
  it('stops at the next progress call and reports execution_interrupted; the executor stays usable', async () => {
    const h = createHarness();
    const controller = new AbortController();
    const prompt: ApiPrompt = {
      p: { class_type: 'TestProgress', inputs: { steps: 50, ms: 5 } },
      after: { class_type: 'TestAdd', inputs: { a: ['p', 0], b: 1 } },
      o: { class_type: 'TestOutput', inputs: { value: ['after', 0] } },
    };
    const { outcome, events, ran } = await h.run(prompt, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.data.value === 2) controller.abort();
      },
    });
    expect(outcome.status).toBe('interrupted');
    expect(ran).toEqual([]);
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(2);
    const interrupted = events.find((e) => e.type === 'execution_interrupted');
    expect(interrupted?.data).toMatchObject({ node_id: 'p', node_type: 'TestProgress', executed: [] });
    expect(events.at(-1)).toMatchObject({ type: 'executing', data: { node: null } });
    expect(outcome.messages.at(-1)?.[0]).toBe('execution_interrupted');

    const next = await h.run(prompt);
    expect(next.outcome.status).toBe('success');
    expect(next.ran).toEqual(['p', 'after', 'o']);
  });

  it('is checked before a node starts', async () => {
    const h = createHarness();
    const controller = new AbortController();
    const { outcome, ran } = await h.run(
      { a: { class_type: 'TestConstant', inputs: { value: 1 } }, o: { class_type: 'TestOutput', inputs: { value: ['a', 0] } } },
      {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'executing' && e.data.node === 'a') controller.abort();
        },
      },
    );
    expect(outcome.status).toBe('interrupted');
    expect(ran).toEqual([]);
    expect(outcome.messages.at(-1)?.[1]).toMatchObject({ node_id: 'a', executed: [] });
  });

  it('is checked between nodes', async () => {
    const h = createHarness();
    const controller = new AbortController();
    const { outcome, ran } = await h.run(
      {
        a: { class_type: 'TestConstant', inputs: { value: 1 } },
        b: { class_type: 'TestAdd', inputs: { a: ['a', 0], b: 1 } },
        o: { class_type: 'TestOutput', inputs: { value: ['b', 0] } },
      },
      {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'progress_state' && e.data.nodes['a']?.state === 'finished') controller.abort();
        },
      },
    );
    expect(outcome.status).toBe('interrupted');
    expect(ran).toEqual(['a']); // the abort came after 'a' finished; 'b' never starts
    expect(outcome.messages.at(-1)?.[1]).toMatchObject({ node_id: 'b', executed: ['a'] });
  });

  it('wakes async nodes waiting on the signal', async () => {
    const h = createHarness();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = performance.now();
    const { outcome } = await h.run(
      { s: { class_type: 'TestSleep', inputs: { value: 1, ms: 10_000 } }, o: { class_type: 'TestOutput', inputs: { value: ['s', 0] } } },
      { signal: controller.signal },
    );
    expect(outcome.status).toBe('interrupted');
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('failure with nodes in flight', () => {
  it('the first failure wins; running siblings are told to stop and nothing new starts', async () => {
    const h = createHarness();
    const { outcome, ran } = await h.run({
      slow: { class_type: 'TestProgress', inputs: { steps: 100, ms: 5 } },
      bad: { class_type: 'TestError', inputs: { message: 'first' } },
      o1: { class_type: 'TestOutput', inputs: { value: ['slow', 0] } },
      o2: { class_type: 'TestOutput', inputs: { value: ['bad', 0] } },
    });
    expect(outcome.status).toBe('error');
    expect(outcome.error?.node_id).toBe('bad');
    expect(ran).not.toContain('slow');
    expect(ran).not.toContain('o1');
  });
});
