/**
 * Test support: ComfyUI's own outputs for the resampling nodes (packages/runtime/src/image/fixtures/
 * comfyui-resample.json, written by scripts/comfyui/make-resample-fixtures.py) and the helpers the image node tests
 * share to feed them through the engine: inputs saved as PNGs for LoadImage, and a capture node that keeps what
 * reaches it. Only tests import this file.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { expect } from 'vitest';
import { defineNode, Executor, NodeRegistry, type HostEnvironment, type NodeDefinition } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';

export interface FullTensor {
  shape: number[];
  values: number[];
}
export interface TensorSummary {
  shape: number[];
  sum: number;
  stride: number;
  sample: number[];
}

export const comfyuiResample = JSON.parse(
  readFileSync(new URL('../../../packages/runtime/src/image/fixtures/comfyui-resample.json', import.meta.url), 'utf8'),
) as {
  rgb: FullTensor;
  rgba: FullTensor;
  stitch_second: FullTensor;
  image_scale_to_total_pixels: { method: string; megapixels: number; out: TensorSummary }[];
  image_stitch: { image1: 'rgb' | 'rgba'; direction: string; match_image_size: boolean; spacing_width: number; spacing_color: string; out: TensorSummary }[];
  flux_kontext_image_scale: { input: FullTensor; out: TensorSummary }[];
};

export const fixtureTensor = (full: FullTensor) => Tensor.float32(full.shape, Float32Array.from(full.values));

/** Writes image `index` of an IMAGE fixture whose values are whole levels / 255 as a PNG LoadImage reads back exactly. */
export async function writeFixturePng(env: HostEnvironment, name: string, full: FullTensor, index = 0): Promise<void> {
  const [, h, w, c] = full.shape as [number, number, number, number];
  const per = h * w * c;
  const levels = Buffer.from(full.values.slice(index * per, (index + 1) * per).map((v) => Math.round(v * 255)));
  await sharp(levels, { raw: { width: w, height: h, channels: c as 3 | 4 } }).png().toFile(path.join(env.inputDir, name));
}

/** A node that keeps every IMAGE it is given (an output node, so the engine runs what feeds it). */
export function captureNode(): { node: NodeDefinition; captured: Map<string, Tensor<'float32'>> } {
  const captured = new Map<string, Tensor<'float32'>>();
  const node = defineNode({
    name: 'TestCaptureImage',
    category: 'testing',
    inputs: { required: { image: { type: 'IMAGE' }, key: { type: 'STRING' } } },
    outputs: [],
    outputNode: true,
    execute(inputs) {
      captured.set(String(inputs['key']), inputs['image'] as Tensor<'float32'>);
      return { ui: {} };
    },
  });
  return { node, captured };
}

export async function runPrompt(env: HostEnvironment, nodes: readonly NodeDefinition[], prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>): Promise<void> {
  const executor = new Executor({ registry: new NodeRegistry(nodes), env });
  const outcome = await executor.run(prompt, { promptId: 'fixtures' });
  expect(outcome.status, JSON.stringify(outcome.error)).toBe('success');
}

/**
 * Checks a tensor against ComfyUI's summary: same shape, every sampled value within `bound` (as float32), and the
 * same sum within what float32 rounding of each value allows.
 */
export function expectMatchesSummary(ours: Tensor<'float32'>, summary: TensorSummary, bound: number): void {
  expect([...ours.shape]).toEqual(summary.shape);
  let worst = 0;
  for (let i = 0; i < summary.sample.length; i++) {
    worst = Math.max(worst, Math.abs(ours.data[i * summary.stride]! - Math.fround(summary.sample[i]!)));
  }
  expect(worst).toBeLessThanOrEqual(bound);
  let sum = 0;
  for (const v of ours.data) sum += v;
  expect(Math.abs(sum - summary.sum)).toBeLessThanOrEqual(1e-6 * ours.data.length + bound * ours.data.length);
}
