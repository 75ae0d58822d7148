/**
 * Engine overhead: what the executor adds per node (planning, key hashing, cache look-ups, events) on graphs of no-op
 * nodes, against a baseline that only calls the same `execute` functions in a loop; and a fully cached re-run.
 */
import { Executor, NodeRegistry, type ApiPrompt, type ExecutionEvent, type NodeInputs } from '../packages/core/src/index.ts';
import { createTestEnv, pack, testNoOp } from '../nodes/testing/src/index.ts';
import { bestMs } from './measure.ts';
import type { BenchResult } from './types.ts';

const registry = new NodeRegistry(pack.nodes);
const env = createTestEnv();

/** 1,000 no-op nodes, each reading the previous one. */
function chainPrompt(length: number): ApiPrompt {
  const prompt: ApiPrompt = {};
  for (let i = 0; i < length; i++) {
    prompt[String(i + 1)] = { class_type: 'TestNoOp', inputs: i === 0 ? { seed: 0 } : { value: [String(i), 0], seed: i } };
  }
  return prompt;
}

/** One source and 999 no-op nodes that all read it (distinct seeds, so no two share a cache key). */
function widePrompt(width: number): ApiPrompt {
  const prompt: ApiPrompt = { '1': { class_type: 'TestNoOp', inputs: { seed: -1 } } };
  for (let i = 1; i < width; i++) prompt[String(i + 1)] = { class_type: 'TestNoOp', inputs: { value: ['1', 0], seed: i } };
  return prompt;
}

/** Calls each node's execute in plan order, feeding outputs forward: the work with no engine around it. */
function directCalls(prompt: ApiPrompt): void {
  const values = new Map<string, unknown>();
  const context = undefined as never;
  for (const [id, node] of Object.entries(prompt)) {
    const inputs: NodeInputs = {};
    for (const [name, value] of Object.entries(node.inputs)) {
      inputs[name] = Array.isArray(value) ? values.get(String(value[0])) : value;
    }
    const result = testNoOp.execute(inputs, context) as { outputs: unknown[] };
    values.set(id, result.outputs[0]);
  }
}

async function overheadPerNode(name: string, prompt: ApiPrompt, targets: string[]): Promise<BenchResult> {
  const executor = new Executor({ registry, env });
  let events = 0;
  const onEvent = (_event: ExecutionEvent) => void (events += 1);
  const nodes = Object.keys(prompt).length;
  const runFresh = async () => {
    executor.clearCache();
    const outcome = await executor.run(prompt, { promptId: 'bench', outputs: targets, onEvent });
    if (outcome.status !== 'success' || outcome.executed.length !== nodes) throw new Error(`${name}: bad run`);
  };
  // Engine and baseline are both timed as best single run (bestMs), so they compare like for like.
  const engineMs = await bestMs(runFresh, { warmup: 20, rounds: 60 });
  const directMs = await bestMs(() => directCalls(prompt), { warmup: 200, rounds: 400 });
  if (events === 0) throw new Error('no events were emitted');
  return {
    name,
    value: ((engineMs - directMs) * 1000) / nodes,
    unit: 'µs/node',
    better: 'lower',
    target: '<= 5 µs/node',
    baseline: { name: 'direct execute loop (µs/node)', value: (directMs * 1000) / nodes },
  };
}

async function cachedRerun(): Promise<BenchResult> {
  const prompt = chainPrompt(200);
  const executor = new Executor({ registry, env });
  const onEvent = () => {};
  const first = await executor.run(prompt, { promptId: 'warm', outputs: ['200'], onEvent });
  if (first.status !== 'success') throw new Error('cached re-run: first run failed');
  const rerun = async () => {
    const outcome = await executor.run(prompt, { promptId: 'again', outputs: ['200'], onEvent });
    if (outcome.executed.length !== 0) throw new Error('cached re-run executed nodes');
  };
  const ms = await bestMs(rerun, { warmup: 30, rounds: 100 });
  const directMs = await bestMs(() => directCalls(prompt), { warmup: 0, rounds: 400 });
  return {
    name: 'fully cached re-run, 200-node chain',
    value: ms,
    unit: 'ms',
    better: 'lower',
    target: '<= 2 ms',
    baseline: { name: 'direct execute loop, 200 nodes (ms)', value: directMs },
  };
}

export default async function (): Promise<BenchResult[]> {
  const chain = chainPrompt(1000);
  const wide = widePrompt(1000);
  return [
    await overheadPerNode('engine overhead, 1,000-node chain', chain, ['1000']),
    await overheadPerNode('engine overhead, 1,000-node wide graph', wide, Object.keys(wide)),
    await cachedRerun(),
  ];
}
