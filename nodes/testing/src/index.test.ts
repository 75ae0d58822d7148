import { describe, expect, it } from 'vitest';
import { Executor, NodeRegistry, type ApiPrompt } from '@uso-studio/core';
import { createTestEnv, createTestProbe, pack, ranNodeIds } from './index.ts';

function harness() {
  const probe = createTestProbe();
  const executor = new Executor({ registry: new NodeRegistry(pack.nodes), env: createTestEnv(probe) });
  return { probe, executor };
}

describe('testing pack', () => {
  it('registers every node once, all in the testing category', () => {
    const registry = new NodeRegistry(pack.nodes);
    expect(registry.names().length).toBe(pack.nodes.length);
    expect(pack.nodes.every((n) => n.category === 'testing')).toBe(true);
    expect(registry.get('TestNotIdempotent')?.notIdempotent).toBe(true);
    expect(registry.get('TestListSum')?.inputIsList).toBe(true);
    expect(registry.get('TestList')?.outputs[0]?.isList).toBe(true);
  });

  it('records runs with start and end times in the probe passed through the environment', async () => {
    const { probe, executor } = harness();
    const prompt: ApiPrompt = {
      c: { class_type: 'TestConstant', inputs: { value: 2 } },
      n: { class_type: 'TestCounter', inputs: { label: 'runs', value: ['c', 0] } },
      o: { class_type: 'TestOutput', inputs: { value: ['n', 0] } },
    };
    const outcome = await executor.run(prompt, { promptId: 'a' });
    expect(outcome.outputs['o']).toEqual({ text: [1] });
    expect(ranNodeIds(probe)).toEqual(['c', 'n', 'o']);
    expect(probe.runs.every((r) => r.end >= r.start)).toBe(true);
    expect(probe.counters.get('runs')).toBe(1);
  });

  it('TestError throws its message; TestSleep honours the signal', async () => {
    const { executor } = harness();
    const failed = await executor.run({ e: { class_type: 'TestError', inputs: { message: 'nope' } } }, { promptId: 'e', outputs: ['e'] });
    expect(failed.error?.exception_message).toContain('nope');
    const interrupted = await executor.run(
      { s: { class_type: 'TestSleep', inputs: { value: 1, ms: 5000 } } },
      { promptId: 's', outputs: ['s'], signal: AbortSignal.timeout(10) },
    );
    expect(interrupted.status).toBe('interrupted');
  });

  it('TestLazyMix asks only for the inputs its ratio needs', () => {
    const mix = pack.nodes.find((n) => n.name === 'TestLazyMix')!;
    expect(mix.checkLazy!({ ratio: 0 })).toEqual(['a']);
    expect(mix.checkLazy!({ ratio: 1 })).toEqual(['b']);
    expect(mix.checkLazy!({ ratio: 0.5, a: 1 })).toEqual(['b']);
  });

  it('TestFingerprint reports its fingerprint input, NaN for "nan"', () => {
    const node = pack.nodes.find((n) => n.name === 'TestFingerprint')!;
    const env = createTestEnv();
    expect(node.fingerprint!({ fingerprint: 'v3' }, env)).toBe('v3');
    expect(Number.isNaN(node.fingerprint!({ fingerprint: 'nan' }, env))).toBe(true);
  });

  it('TestBuffer reports its size through byteSizeOf-visible typed arrays', async () => {
    const { executor } = harness();
    await executor.run({ b: { class_type: 'TestBuffer', inputs: { length: 1000, fill: 1 } } }, { promptId: 'b', outputs: ['b'] });
    expect(executor.cacheStats.bytes).toBeGreaterThanOrEqual(4000);
  });
});
