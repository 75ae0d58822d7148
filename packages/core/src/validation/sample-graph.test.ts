import { describe, expect, it } from 'vitest';
import { sampleEnv, sampleRegistry, sampleWorkflow } from './sample-graph.ts';
import { validatePrompt } from './validate-prompt.ts';

describe('sampleWorkflow', () => {
  it.each([8, 10, 20, 50])('builds a valid %i-node prompt', async (size) => {
    const prompt = sampleWorkflow(size);
    expect(Object.keys(prompt)).toHaveLength(size);
    const result = await validatePrompt(prompt, sampleRegistry(), sampleEnv);
    expect(result.ok).toBe(true);
    expect(result.nodeErrors).toEqual({});
    // A Save every eight ids plus the final Preview.
    if (result.ok) expect(result.outputs).toHaveLength(Math.floor((size - 1) / 8) + 1);
  });

  it('returns a fresh object each call', () => {
    expect(sampleWorkflow(10)).not.toBe(sampleWorkflow(10));
    expect(sampleWorkflow(10)).toEqual(sampleWorkflow(10));
  });

  it('links only to nodes that come earlier', () => {
    const prompt = sampleWorkflow(30);
    for (const [id, node] of Object.entries(prompt)) {
      for (const value of Object.values(node.inputs)) {
        if (Array.isArray(value)) expect(Number(value[0])).toBeLessThan(Number(id));
      }
    }
  });
});
