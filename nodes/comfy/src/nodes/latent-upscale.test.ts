/**
 * LatentUpscale and LatentUpscaleBy run in a workflow through the engine on a fixture latent and give ComfyUI's own
 * outputs (packages/runtime/src/image/fixtures/comfyui-resample.json, from ComfyUI's node functions; see
 * scripts/comfyui/make-resample-fixtures.py), within float32 rounding.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineNode, Executor, NodeRegistry } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import { latentUpscale, latentUpscaleBy, latentUpscaleSize } from './latent-upscale.ts';

interface Full {
  shape: number[];
  values: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../../../../packages/runtime/src/image/fixtures/comfyui-resample.json', import.meta.url), 'utf8')) as {
  latent_node_input: Full;
  latent_nodes: { node: 'LatentUpscale' | 'LatentUpscaleBy'; method: string; width?: number; height?: number; crop?: string; scale_by?: number; out: Full }[];
};

const BOUND: Record<string, number> = { 'nearest-exact': 0, bilinear: 1e-6, area: 2.5e-7, bicubic: 2e-6, bislerp: 2e-6 };

/** A LATENT source (the fixture, with a batch_index that must pass through) and a node that keeps what it gets. */
const captured = new Map<string, { samples: Tensor<'float32'>; batch_index?: number[] }>();
const source = defineNode({
  name: 'TestFixtureLatent',
  category: 'testing',
  inputs: { required: {} },
  outputs: [{ type: 'LATENT' }],
  execute: () => ({
    outputs: [{ samples: Tensor.float32(fixture.latent_node_input.shape, Float32Array.from(fixture.latent_node_input.values)), batch_index: [3] }],
  }),
});
const capture = defineNode({
  name: 'TestCaptureLatent',
  category: 'testing',
  inputs: { required: { samples: { type: 'LATENT' }, key: { type: 'STRING' } } },
  outputs: [],
  outputNode: true,
  execute(inputs) {
    captured.set(String(inputs['key']), inputs['samples'] as never);
    return { ui: {} };
  },
});

describe("LatentUpscale and LatentUpscaleBy against ComfyUI's outputs", async () => {
  const prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }> = { src: { class_type: 'TestFixtureLatent', inputs: {} } };
  fixture.latent_nodes.forEach((c, i) => {
    const inputs = c.node === 'LatentUpscale'
      ? { samples: ['src', 0], upscale_method: c.method, width: c.width, height: c.height, crop: c.crop }
      : { samples: ['src', 0], upscale_method: c.method, scale_by: c.scale_by };
    prompt[`n${i}`] = { class_type: c.node, inputs };
    prompt[`n${i}_out`] = { class_type: 'TestCaptureLatent', inputs: { samples: [`n${i}`, 0], key: `n${i}` } };
  });
  const executor = new Executor({ registry: new NodeRegistry([latentUpscale, latentUpscaleBy, source, capture]), env: { inputDir: '', outputDir: '', tempDir: '', modelsDir: '' } });
  const outcome = await executor.run(prompt, { promptId: 'latent-upscale' });

  it('the workflow runs', () => {
    expect(outcome.status, JSON.stringify(outcome.error)).toBe('success');
  });

  it.each(fixture.latent_nodes.map((c, i) => [c.node, c.method, c.width ?? c.scale_by, c.height ?? '', i] as const))('%s %s %s %s', (_, method, __, ___, i) => {
    const ours = captured.get(`n${i}`)!;
    const expected = fixture.latent_nodes[i]!.out;
    expect([...ours.samples.shape]).toEqual(expected.shape);
    let worst = 0;
    for (let k = 0; k < expected.values.length; k++) worst = Math.max(worst, Math.abs(ours.samples.data[k]! - Math.fround(expected.values[k]!)));
    expect(worst).toBeLessThanOrEqual(BOUND[method]!);
    expect(ours.batch_index).toEqual([3]);
  });

  it('sizes like ComfyUI: 0 keeps the aspect, at least 64 pixels a side, pixels // 8', () => {
    expect(latentUpscaleSize(6, 5, 80, 0)).toEqual({ width: 10, height: 8 });
    expect(latentUpscaleSize(6, 5, 0, 40)).toEqual({ width: 9, height: 8 }); // 64 px tall, round(6 * 64 / 5) = 77 px wide
    expect(latentUpscaleSize(6, 5, 100, 60)).toEqual({ width: 12, height: 8 });
  });
});
