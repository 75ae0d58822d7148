/**
 * One suite for every cache policy (like hono's common.case.test.ts for routers): the executor must behave the same,
 * "did run" and "was cached", whichever policy keeps the results. Policies must have room for these small prompts.
 */
import { describe, expect, it } from 'vitest';
import type { ApiPrompt, CachePolicy } from '../../packages/core/src/index.ts';
import { createHarness, pipeline } from './helpers.ts';

export function describeCachePolicy(name: string, createPolicy: () => CachePolicy): void {
  describe(`caching with ${name}`, () => {
    it('re-running the same prompt runs nothing and reports every node cached', async () => {
      const h = createHarness(createPolicy());
      const first = await h.run(pipeline(1));
      expect(first.ran).toEqual(['loader', 'sampler', 'decode', 'save']);
      const second = await h.run(pipeline(1));
      expect(second.ran).toEqual([]);
      expect(second.outcome.executed).toEqual([]);
      expect(new Set(second.outcome.cached)).toEqual(new Set(['loader', 'sampler', 'decode', 'save']));
      expect(second.outcome.outputs).toEqual(first.outcome.outputs);
    });

    it('a changed seed re-runs only the sampler and what follows it', async () => {
      const h = createHarness(createPolicy());
      await h.run(pipeline(1));
      const changed = await h.run(pipeline(2));
      expect(changed.ran).toEqual(['sampler', 'decode', 'save']);
      expect(changed.outcome.cached).toEqual(['loader']);
      expect(changed.outcome.outputs['save']).toEqual({ text: [103] });
    });

    it('a changed seed and back: the earlier results are found again if the policy kept them', async () => {
      const h = createHarness(createPolicy());
      await h.run(pipeline(1));
      const again = await h.run(pipeline(1));
      expect(again.ran).toEqual([]);
    });

    it('identical subgraphs in one prompt run once', async () => {
      const h = createHarness(createPolicy());
      const prompt: ApiPrompt = {
        a1: { class_type: 'TestConstant', inputs: { value: 5 } },
        a2: { class_type: 'TestAdd', inputs: { a: ['a1', 0], b: 1 } },
        b1: { class_type: 'TestConstant', inputs: { value: 5 } },
        b2: { class_type: 'TestAdd', inputs: { a: ['b1', 0], b: 1 } },
        outA: { class_type: 'TestOutput', inputs: { value: ['a2', 0] } },
        outB: { class_type: 'TestOutput', inputs: { value: ['b2', 0] } },
      };
      const { ran, outcome } = await h.run(prompt);
      expect(ran.filter((id) => id === 'a1' || id === 'b1')).toHaveLength(1);
      expect(ran.filter((id) => id === 'a2' || id === 'b2')).toHaveLength(1);
      expect(outcome.outputs).toEqual({ outA: { text: [6] }, outB: { text: [6] } });
      expect(outcome.cached.length + outcome.executed.length).toBe(6);
    });

    it('identical async nodes in flight at once run once: the second waits for the first', async () => {
      const h = createHarness(createPolicy());
      const { ran, outcome } = await h.run({
        s1: { class_type: 'TestSleep', inputs: { value: 4, ms: 20 } },
        s2: { class_type: 'TestSleep', inputs: { value: 4, ms: 20 } },
        o1: { class_type: 'TestOutput', inputs: { value: ['s1', 0] } },
        o2: { class_type: 'TestAdd', inputs: { a: ['s2', 0], b: 1 } },
      }, { outputs: ['o1', 'o2'] });
      expect(ran.filter((id) => id === 's1' || id === 's2')).toHaveLength(1);
      expect(outcome.cached).toHaveLength(1);
      expect(outcome.outputs['o1']).toEqual({ text: [4] });
      expect(outcome.status).toBe('success');
    });

    it('an unchanged fingerprint is cached, a changed one re-runs, NaN always re-runs', async () => {
      const h = createHarness(createPolicy());
      const prompt = (fingerprint: string): ApiPrompt => ({
        f: { class_type: 'TestFingerprint', inputs: { value: 1, fingerprint } },
        o: { class_type: 'TestOutput', inputs: { value: ['f', 0] } },
      });
      expect((await h.run(prompt('v1'))).ran).toEqual(['f', 'o']);
      expect((await h.run(prompt('v1'))).ran).toEqual([]);
      expect((await h.run(prompt('v2'))).ran).toEqual(['f', 'o']);
      expect((await h.run(prompt('nan'))).ran).toEqual(['f', 'o']);
      expect((await h.run(prompt('nan'))).ran).toEqual(['f', 'o']);
    });

    it('non-idempotent nodes never hit a previous prompt', async () => {
      const h = createHarness(createPolicy());
      const prompt: ApiPrompt = {
        r: { class_type: 'TestNotIdempotent', inputs: { value: 1 } },
        o: { class_type: 'TestOutput', inputs: { value: ['r', 0] } },
      };
      await h.run(prompt);
      expect((await h.run(prompt)).ran).toEqual(['r', 'o']);
      // Results no later prompt can find are not stored at all.
      expect(h.executor.cacheStats.entries).toBe(0);
    });

    it('UNIQUE_ID nodes are not shared between node ids', async () => {
      const h = createHarness(createPolicy());
      const { ran, outcome } = await h.run({ x: { class_type: 'TestHidden', inputs: {} }, y: { class_type: 'TestHidden', inputs: {} } });
      expect(ran.sort()).toEqual(['x', 'y']);
      expect(outcome.outputs['x']?.['unique_id']).toEqual(['x']);
      expect(outcome.outputs['y']?.['unique_id']).toEqual(['y']);
    });

    it('after a failed prompt, the fixed prompt re-runs only what failed', async () => {
      const h = createHarness(createPolicy());
      const prompt = (fail: boolean): ApiPrompt => ({
        c: { class_type: 'TestConstant', inputs: { value: 3 } },
        e: fail
          ? { class_type: 'TestError', inputs: { message: 'broken', value: ['c', 0] } }
          : { class_type: 'TestAdd', inputs: { a: ['c', 0], b: 0 } },
        o: { class_type: 'TestOutput', inputs: { value: ['e', 0] } },
      });
      const failed = await h.run(prompt(true));
      expect(failed.outcome.status).toBe('error');
      expect(failed.ran).toEqual(['c']);
      const fixed = await h.run(prompt(false));
      expect(fixed.outcome.status).toBe('success');
      expect(fixed.ran).toEqual(['e', 'o']);
    });

    it('partial targets run only the requested nodes and their ancestors', async () => {
      const h = createHarness(createPolicy());
      const prompt: ApiPrompt = { ...pipeline(1), other: { class_type: 'TestCounter', inputs: { label: 'other' } }, otherOut: { class_type: 'TestOutput', inputs: { value: ['other', 0] } } };
      const partial = await h.run(prompt, { outputs: ['sampler'] });
      expect(partial.ran).toEqual(['loader', 'sampler']);
      expect(partial.outcome.outputs).toEqual({});
      const full = await h.run(prompt);
      expect(full.ran.sort()).toEqual(['decode', 'other', 'otherOut', 'save']);
    });

    it('lazy branches that were computed before are served from the cache', async () => {
      const h = createHarness(createPolicy());
      const prompt = (on: boolean): ApiPrompt => ({
        t: { class_type: 'TestConstant', inputs: { value: 1 } },
        f: { class_type: 'TestConstant', inputs: { value: 2 } },
        s: { class_type: 'TestSwitch', inputs: { switch: on, on_true: ['t', 0], on_false: ['f', 0] } },
        o: { class_type: 'TestOutput', inputs: { value: ['s', 0] } },
      });
      expect((await h.run(prompt(true))).ran).toEqual(['t', 's', 'o']);
      expect((await h.run(prompt(false))).ran).toEqual(['f', 's', 'o']);
      const back = await h.run(prompt(true));
      expect(back.outcome.outputs['o']).toEqual({ text: [1] });
      expect(back.ran).not.toContain('t');
    });

    it('reports the policy stats and forgets everything on clearCache', async () => {
      const h = createHarness(createPolicy());
      await h.run(pipeline(1));
      expect(h.executor.cacheStats.entries).toBeGreaterThan(0);
      expect(h.executor.cacheStats.bytes).toBeGreaterThan(0);
      h.executor.clearCache();
      expect(h.executor.cacheStats).toEqual({ entries: 0, bytes: 0 });
      expect((await h.run(pipeline(1))).ran).toHaveLength(4);
    });
  });
}
