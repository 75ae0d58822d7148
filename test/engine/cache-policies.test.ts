import { describe, expect, it } from 'vitest';
import { lastPromptCache, lruCache, ramBudgetCache, type ApiPrompt } from '../../packages/core/src/index.ts';
import { describeCachePolicy } from './cache-policies.case.ts';
import { createHarness, pipeline } from './helpers.ts';

describeCachePolicy('lastPromptCache()', () => lastPromptCache());
describeCachePolicy('lruCache(1000)', () => lruCache(1000));
describeCachePolicy('ramBudgetCache(64 MiB)', () => ramBudgetCache(64 << 20));

describe('where the policies differ', () => {
  it('lastPromptCache forgets results the last prompt did not use; lruCache keeps them', async () => {
    const last = createHarness(lastPromptCache());
    const lru = createHarness(lruCache(100));
    for (const h of [last, lru]) {
      await h.run(pipeline(1));
      await h.run(pipeline(2));
    }
    expect((await last.run(pipeline(1))).ran).toEqual(['sampler', 'decode', 'save']);
    expect((await lru.run(pipeline(1))).ran).toEqual([]);
  });

  it('lastPromptCache keeps results of prompt nodes that a partial run did not execute', async () => {
    const h = createHarness(lastPromptCache());
    const prompt: ApiPrompt = { ...pipeline(1), c: { class_type: 'TestCounter', inputs: { label: 'c' } }, o: { class_type: 'TestOutput', inputs: { value: ['c', 0] } } };
    await h.run(prompt, { outputs: ['o'] });
    await h.run(prompt, { outputs: ['save'] });
    expect((await h.run(prompt, { outputs: ['o'] })).ran).toEqual([]);
  });

  it('ramBudgetCache never holds more than its budget, and prompts still complete when entries do not fit', async () => {
    const budget = 10_000;
    const policy = ramBudgetCache(budget);
    const h = createHarness(policy);
    const prompt = (fill: number): ApiPrompt => ({
      small: { class_type: 'TestBuffer', inputs: { length: 1000, fill } }, // ~4 KB
      big: { class_type: 'TestBuffer', inputs: { length: 4000, fill } }, // ~16 KB: never fits
      s: { class_type: 'TestOutput', inputs: { value: ['small', 0] } },
      b: { class_type: 'TestOutput', inputs: { value: ['big', 0] } },
    });
    for (let fill = 0; fill < 5; fill++) {
      const { outcome } = await h.run(prompt(fill));
      expect(outcome.status).toBe('success');
      expect(policy.stats.bytes).toBeLessThanOrEqual(budget);
    }
    // The big buffer never fits, so it runs every time; the small one is kept.
    const again = await h.run(prompt(4));
    expect(again.ran).toContain('big');
    expect(again.ran).not.toContain('small');
    expect(h.executor.cacheStats.bytes).toBeLessThanOrEqual(budget);
  });

  it('lruCache(1) still completes a prompt: the running prompt pins what it needs', async () => {
    const h = createHarness(lruCache(1));
    const { outcome } = await h.run(pipeline(5));
    expect(outcome.status).toBe('success');
    expect(outcome.outputs['save']).toEqual({ text: [106] });
    expect(h.executor.cacheStats.entries).toBe(1);
  });
});
