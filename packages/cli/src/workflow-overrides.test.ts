import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { uiToApi } from '@uso-studio/core';
import { DEFAULT_PACKS, loadRegistry } from '@uso-studio/server';
import { applyOverrides, parseOverride } from './overrides.ts';
import { workflowWithOverrides } from './workflow-overrides.ts';

const readWorkflow = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../workflows/${name}`, import.meta.url), 'utf8'));
const env = { inputDir: '/nonexistent', outputDir: '/nonexistent', tempDir: '/nonexistent', modelsDir: '/nonexistent' };

describe('workflowWithOverrides', () => {
  it('writes overridden widget inputs into the saved workflow, so converting it again gives the prompt that ran', async () => {
    const objectInfo = (await loadRegistry(DEFAULT_PACKS)).objectInfo(env);
    for (const name of ['uso-style-subject.json', 'uso-template-subgraphs.json']) {
      const workflow = readWorkflow(name);
      const before = uiToApi(workflow, objectInfo, { random: () => 0 }).prompt;
      const after = applyOverrides(before, ['KSampler.seed=7', 'KSampler.steps=3', 'CheckpointLoaderSimple.ckpt_name=other.safetensors'].map(parseOverride));
      const saved = workflowWithOverrides(workflow, before, after, objectInfo);
      const again = uiToApi(saved, objectInfo, { random: () => 0 }).prompt;
      for (const [id, node] of Object.entries(after)) {
        if (node.class_type === 'KSampler') expect(again[id]!.inputs, name).toMatchObject({ seed: 7, steps: 3 });
        if (node.class_type === 'CheckpointLoaderSimple') expect(again[id]!.inputs.ckpt_name, name).toBe('other.safetensors');
      }
      // The original stays as it was.
      expect(uiToApi(workflow, objectInfo, { random: () => 0 }).prompt).toEqual(before);
    }
  });
});
