/**
 * Executor unit tests with small inline nodes: event order and payloads, robustness. The behaviour suite that drives
 * the testing node pack (lazy, lists, caching across policies, concurrency, interrupts) is in test/engine/.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionEvent } from '../events.ts';
import { defineNode, type ApiPrompt, type HostEnvironment, type NodeLogger } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';
import { Executor } from './executor.ts';

const env: HostEnvironment = { inputDir: 'i', outputDir: 'o', tempDir: 't', modelsDir: 'm' };
const lines: string[] = [];
const logger: NodeLogger = {
  debug: (m) => void lines.push(`debug ${m}`),
  info: (m) => void lines.push(`info ${m}`),
  warn: (m) => void lines.push(`warn ${m}`),
  error: (m) => void lines.push(`error ${m}`),
};

const registry = new NodeRegistry([
  defineNode({
    name: 'Num',
    category: 't',
    inputs: { required: { value: { type: 'INT' } } },
    outputs: [{ type: 'INT' }],
    execute: (inputs, context) => {
      context.log.info(`value ${String(inputs['value'])}`);
      return { outputs: [inputs['value']] };
    },
  }),
  defineNode({
    name: 'Show',
    category: 't',
    outputNode: true,
    inputs: { required: { value: { type: 'INT' } } },
    outputs: [],
    execute: (inputs) => ({ ui: { text: [String(inputs['value'])] } }),
  }),
  defineNode({
    name: 'Keys',
    category: 't',
    outputNode: true,
    inputs: { required: { a: { type: 'INT' } } },
    outputs: [],
    execute: (inputs) => ({ ui: { keys: Object.keys(inputs).sort() } }),
  }),
  defineNode({
    name: 'Boom',
    category: 't',
    outputNode: true,
    inputs: { required: { value: { type: 'INT' } } },
    outputs: [],
    execute: () => {
      throw new TypeError('kaput');
    },
  }),
]);

function record(): { events: ExecutionEvent[]; onEvent: (e: ExecutionEvent) => void } {
  const events: ExecutionEvent[] = [];
  return { events, onEvent: (e) => void events.push(e) };
}

const simple: ApiPrompt = {
  '1': { class_type: 'Num', inputs: { value: 4 } },
  '2': { class_type: 'Show', inputs: { value: ['1', 0] } },
};

describe('Executor events', () => {
  it('sends ComfyUI events in order, ending with execution_success then executing null', async () => {
    const executor = new Executor({ registry, env, logger });
    const { events, onEvent } = record();
    const outcome = await executor.run(simple, { promptId: 'p1', onEvent });
    expect(outcome.status).toBe('success');
    const types = events.filter((e) => e.type !== 'progress_state').map((e) => e.type);
    expect(types).toEqual(['execution_start', 'execution_cached', 'executing', 'executing', 'executed', 'execution_success', 'executing']);
    expect(events.at(-1)).toEqual({ type: 'executing', data: { node: null, prompt_id: 'p1' } });
    expect(events.find((e) => e.type === 'executed')?.data).toEqual({
      node: '2',
      display_node: '2',
      output: { text: ['4'] },
      prompt_id: 'p1',
    });
    expect(events.find((e) => e.type === 'execution_cached')?.data).toMatchObject({ nodes: [], prompt_id: 'p1' });
    const finished = events.filter((e) => e.type === 'progress_state').map((e) => (e.type === 'progress_state' ? e.data.nodes : {}));
    expect(finished.some((nodes) => nodes['2']?.state === 'finished' && nodes['2'].display_node_id === '2')).toBe(true);
    expect(outcome.outputs).toEqual({ '2': { text: ['4'] } });
    expect(outcome.messages.map(([type]) => type)).toEqual(['execution_start', 'execution_cached', 'execution_success']);
  });

  it('reports flattened subgraph ids as their own display node, as ComfyUI does', async () => {
    const executor = new Executor({ registry, env, logger });
    const { events, onEvent } = record();
    await executor.run(
      { '5:1': { class_type: 'Num', inputs: { value: 1 } }, '5:2': { class_type: 'Show', inputs: { value: ['5:1', 0] } } },
      { promptId: 'p', onEvent },
    );
    const executing = events.filter((e) => e.type === 'executing' && e.data.node !== null);
    expect(executing.map((e) => e.data)).toEqual([
      { node: '5:1', display_node: '5:1', prompt_id: 'p' },
      { node: '5:2', display_node: '5:2', prompt_id: 'p' },
    ]);
  });

  it('lists cache hits in execution_cached before anything runs, and sends executed for cached UI', async () => {
    const executor = new Executor({ registry, env, logger });
    await executor.run(simple, { promptId: 'p1' });
    const { events, onEvent } = record();
    const outcome = await executor.run(simple, { promptId: 'p2', onEvent });
    expect(outcome.executed).toEqual([]);
    expect(outcome.cached).toEqual(['1', '2']);
    expect(events[1]).toMatchObject({ type: 'execution_cached', data: { nodes: ['1', '2'], prompt_id: 'p2' } });
    expect(events.filter((e) => e.type === 'executing' && e.data.node !== null)).toEqual([]);
    expect(events.find((e) => e.type === 'executed')?.data.output).toEqual({ text: ['4'] });
    expect(outcome.outputs).toEqual({ '2': { text: ['4'] } });
  });

  it('a throwing listener does not stop the prompt', async () => {
    const executor = new Executor({ registry, env, logger });
    const outcome = await executor.run(simple, {
      promptId: 'p',
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(outcome.status).toBe('success');
    expect(lines.some((l) => l.includes('listener bug'))).toBe(true);
  });
});

describe('Executor errors', () => {
  it("turns a node exception into ComfyUI's execution_error (node in its own fields, the message alone), and stays usable", async () => {
    const executor = new Executor({ registry, env, logger });
    const { events, onEvent } = record();
    const outcome = await executor.run(
      { '1': { class_type: 'Num', inputs: { value: 3 } }, '9': { class_type: 'Boom', inputs: { value: ['1', 0] } } },
      { promptId: 'bad', onEvent },
    );
    expect(outcome.status).toBe('error');
    expect(outcome.error).toMatchObject({
      prompt_id: 'bad',
      node_id: '9',
      node_type: 'Boom',
      exception_type: 'TypeError',
      executed: ['1'],
      current_inputs: { value: [3] },
      // ComfyUI's current_outputs: the ids of nodes already cached when the prompt started (none here).
      current_outputs: [],
    });
    expect(outcome.error?.exception_message).toBe('kaput');
    expect(outcome.error?.traceback.length).toBeGreaterThan(0);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['execution_error', 'executing']);
    expect(outcome.messages.at(-1)?.[0]).toBe('execution_error');
    expect((await executor.run(simple, { promptId: 'next' })).status).toBe('success');
    const failing = { '1': { class_type: 'Num', inputs: { value: 3 } }, '9': { class_type: 'Boom', inputs: { value: ['1', 0] } } };
    await executor.run(failing, { promptId: 'bad2' });
    expect((await executor.run(failing, { promptId: 'bad3' })).error?.current_outputs).toEqual(['1']);
  });

  it('never rejects: garbage prompts, unknown classes and dangling links become errors', async () => {
    const executor = new Executor({ registry, env, logger });
    const garbage = await executor.run(null as unknown as ApiPrompt, { promptId: 'g', outputs: ['1'] });
    expect(garbage.status).toBe('success'); // nothing to run
    const unknown = await executor.run({ '1': { class_type: 'Nope', inputs: {} } }, { promptId: 'u', outputs: ['1'] });
    expect(unknown.status).toBe('error');
    expect(unknown.error).toMatchObject({ node_id: '1', exception_type: 'UnknownNodeTypeError' });
    const dangling = await executor.run({ '2': { class_type: 'Show', inputs: { value: ['ghost', 0] } } }, { promptId: 'd' });
    expect(dangling.error).toMatchObject({ node_id: '2', exception_type: 'BadInputError' });
    expect(dangling.error?.exception_message).toContain('ghost');
  });

  it('reports a dependency cycle as an error naming its nodes', async () => {
    const executor = new Executor({ registry, env, logger });
    const outcome = await executor.run(
      {
        a: { class_type: 'Num', inputs: { value: ['b', 0] } },
        b: { class_type: 'Num', inputs: { value: ['a', 0] } },
        s: { class_type: 'Show', inputs: { value: ['a', 0] } },
      },
      { promptId: 'c' },
    );
    expect(outcome.status).toBe('error');
    expect(outcome.error?.exception_type).toBe('DependencyCycleError');
    expect(outcome.error?.exception_message).toMatch(/a, b|b, a/);
  });

  it('an already aborted signal interrupts before the first node', async () => {
    const executor = new Executor({ registry, env, logger });
    const outcome = await executor.run(simple, { promptId: 'i', signal: AbortSignal.abort() });
    expect(outcome.status).toBe('interrupted');
    expect(outcome.executed).toEqual([]);
    expect(outcome.messages.at(-1)).toEqual([
      'execution_interrupted',
      expect.objectContaining({ prompt_id: 'i', node_id: '1', node_type: 'Num', executed: [] }),
    ]);
  });
});

describe('Executor context', () => {
  it('gives nodes their ids, the prompt, extra data, env and a signal; progress throws once aborted', async () => {
    const seen: Record<string, unknown> = {};
    const controller = new AbortController();
    const contextRegistry = new NodeRegistry([
      defineNode({
        name: 'Inspect',
        category: 't',
        outputNode: true,
        inputs: {},
        outputs: [],
        execute: (_inputs, context) => {
          Object.assign(seen, {
            nodeId: context.nodeId,
            displayNodeId: context.displayNodeId,
            promptId: context.promptId,
            promptKeys: Object.keys(context.prompt),
            extra: context.extraData['client'],
            env: context.env,
            signal: context.signal instanceof AbortSignal,
          });
          context.progress(1, 2);
          controller.abort();
          try {
            context.progress(2, 2);
          } catch (error) {
            seen['thrown'] = (error as Error).name;
            throw error;
          }
          return {};
        },
      }),
    ]);
    const executor = new Executor({ registry: contextRegistry, env, logger });
    const outcome = await executor.run({ '7:3': { class_type: 'Inspect', inputs: {} } }, { promptId: 'ctx', extraData: { client: 'c1' }, signal: controller.signal });
    expect(seen).toEqual({ nodeId: '7:3', displayNodeId: '7:3', promptId: 'ctx', promptKeys: ['7:3'], extra: 'c1', env, signal: true, thrown: 'InterruptedError' });
    expect(outcome.status).toBe('interrupted');
  });
});

describe('Executor interrupts with synchronous nodes', () => {
  it('yields to the event loop between long synchronous nodes, so a timer can interrupt', async () => {
    const spin = defineNode({
      name: 'Spin',
      category: 't',
      inputs: { optional: { value: { type: 'INT' } } },
      outputs: [{ type: 'INT' }],
      execute: (inputs) => {
        const until = performance.now() + 3;
        while (performance.now() < until) {
          // busy: a CPU-bound node that never awaits
        }
        return { outputs: [Number(inputs['value'] ?? 0) + 1] };
      },
    });
    const executor = new Executor({ registry: new NodeRegistry([spin]), env, logger });
    const prompt: ApiPrompt = {};
    for (let i = 0; i < 100; i++) prompt[String(i)] = { class_type: 'Spin', inputs: i ? { value: [String(i - 1), 0] } : {} };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const outcome = await executor.run(prompt, { promptId: 'spin', outputs: ['99'], signal: controller.signal });
    expect(outcome.status).toBe('interrupted');
    expect(outcome.executed.length).toBeGreaterThan(0);
    expect(outcome.executed.length).toBeLessThan(100);
  });
});

describe('Executor inputs', () => {
  it('drops constants the node does not declare and prefixes node logs', async () => {
    const executor = new Executor({ registry, env, logger });
    lines.length = 0;
    const outcome = await executor.run(
      { '1': { class_type: 'Num', inputs: { value: 7 } }, k: { class_type: 'Keys', inputs: { a: ['1', 0], stale: 3 } } },
      { promptId: 'k' },
    );
    expect(outcome.outputs['k']).toEqual({ keys: ['a'] });
    expect(lines).toContain('info [Num #1] value 7');
  });

  it('reports cache size and clears it', async () => {
    const executor = new Executor({ registry, env, logger });
    await executor.run(simple, { promptId: 's' });
    expect(executor.cacheStats.entries).toBe(2);
    expect(executor.cacheStats.bytes).toBeGreaterThan(0);
    executor.clearCache();
    expect(executor.cacheStats).toEqual({ entries: 0, bytes: 0 });
    expect((await executor.run(simple, { promptId: 's2' })).executed).toEqual(['1', '2']);
  });
});

describe('Executor previews', () => {
  const previewRegistry = new NodeRegistry([
    defineNode({
      name: 'Stepper',
      category: 't',
      outputNode: true,
      inputs: { required: { steps: { type: 'INT' }, pause: { type: 'INT' } } },
      outputs: [],
      execute: async (inputs, context) => {
        const wanted: boolean[] = [];
        for (let i = 0; i < Number(inputs['steps']); i++) {
          if (Number(inputs['pause']) > 0) await new Promise((r) => setTimeout(r, Number(inputs['pause'])));
          const want = context.previewWanted();
          wanted.push(want);
          if (want) context.preview({ format: 'PNG', bytes: new Uint8Array([i]) });
        }
        return { ui: { wanted } };
      },
    }),
  ]);
  const stepper = (steps: number, pause: number): ApiPrompt => ({ '1': { class_type: 'Stepper', inputs: { steps, pause } } });

  it('asks for every preview when a listener is attached, and none in a headless run', async () => {
    const executor = new Executor({ registry: previewRegistry, env, logger });
    const events: ExecutionEvent[] = [];
    const listened = await executor.run(stepper(3, 0), { promptId: 'a', onEvent: (e) => events.push(e) });
    expect(listened.outputs['1']).toEqual({ wanted: [true, true, true] });
    expect(events.filter((e) => e.type === 'preview')).toHaveLength(3);
    const headless = await executor.run(stepper(4, 0), { promptId: 'b' });
    expect(headless.outputs['1']).toEqual({ wanted: [false, false, false, false] });
    const off = await executor.run(stepper(2, 0), { promptId: 'c', onEvent: () => {}, previews: false });
    expect(off.outputs['1']).toEqual({ wanted: [false, false] });
  });

  it('spaces previews by the minimum interval', async () => {
    const executor = new Executor({ registry: previewRegistry, env, logger });
    const fast = await executor.run(stepper(5, 0), { promptId: 'd', onEvent: () => {}, previews: { minIntervalMs: 10_000 } });
    expect(fast.outputs['1']).toEqual({ wanted: [true, false, false, false, false] });
    const slow = await executor.run(stepper(3, 30), { promptId: 'e', onEvent: () => {}, previews: { minIntervalMs: 20 } });
    expect(slow.outputs['1']).toEqual({ wanted: [true, true, true] });
  });
});
