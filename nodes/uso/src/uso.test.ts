import { describe, it, expect, afterAll } from 'vitest';
import { NodeRegistry } from '@uso-studio/core';
import { Tensor, prepareNoise, processLatentIn, processLatentOut, sampleUso, usoSchedule } from '@uso-studio/runtime';
import {
  clipVisionEncode,
  clipVisionLoader,
  packLatent,
  unetLoader,
  unpackLatent,
  usoReferenceIds,
  type ConditioningEntry,
  type Latent,
  type ModelDescriptor,
} from '@uso-studio/nodes-comfy';
import { makeTestHost, recordingContext, testProjection, testWeights } from '@uso-studio/nodes-comfy/test-support';
import { modelPatchLoader, usoStyleReference } from './style.ts';
import { runUsoSampler, usoSampler } from './uso-sampler.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const ctx = () => recordingContext(host.env);
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

async function model(): Promise<ModelDescriptor> {
  return (await unetLoader.execute({ unet_name: 'test-dit.safetensors', weight_dtype: 'default' }, ctx())).outputs![0] as ModelDescriptor;
}

function flat(value: number): Tensor<'float32'> {
  return Tensor.float32([1, 384, 384, 3], new Float32Array(384 * 384 * 3).fill(value));
}

describe('ModelPatchLoader and USOStyleReference', () => {
  it('have ComfyUI schemas', () => {
    const info = new NodeRegistry([modelPatchLoader, usoStyleReference, usoSampler]).objectInfo(host.env);
    expect(info.ModelPatchLoader!.input.required.name![0]).toEqual(['test-projector.safetensors']);
    expect(info.ModelPatchLoader!.output).toEqual(['MODEL_PATCH']);
    expect(info.USOStyleReference!.input_order.required).toEqual(['model', 'model_patch', 'clip_vision_output']);
    expect(info.USOStyleReference!.category).toBe('advanced/model_patches/flux');
    expect(info.USOSampler!.input.required.steps).toEqual(['INT', { default: 25, min: 1, max: 10000 }]);
    expect(info.USOSampler!.input.required.guidance![1]).toMatchObject({ default: 4 });
  });

  it('project the vision output into style tokens, last applied first, without touching the input MODEL', async () => {
    const c = ctx();
    const [patch] = (await modelPatchLoader.execute({ name: 'test-projector.safetensors' }, c)).outputs!;
    const [vision] = (await clipVisionLoader.execute({ clip_name: 'test-vision.safetensors' }, c)).outputs!;
    const encode = async (v: number) => (await clipVisionEncode.execute({ clip_vision: vision, image: flat(v), crop: 'center' }, c)).outputs![0];
    const m0 = await model();
    const [m1] = (await usoStyleReference.execute({ model: m0, model_patch: patch, clip_vision_output: await encode(0.2) }, c)).outputs as [ModelDescriptor];
    const [m2] = (await usoStyleReference.execute({ model: m1, model_patch: patch, clip_vision_output: await encode(0.9) }, c)).outputs as [ModelDescriptor];
    expect(m0.styles).toHaveLength(0);
    expect(m1.styles).toHaveLength(1);
    expect(m2.styles).toHaveLength(2);
    expect(m2.styles[1]).toBe(m1.styles[0]);
    expect(m2.styles[0]!.shape).toEqual([1, 3, 8]);
    // Test projector: token k = mean over patches of layer k+1 (= (k+1) * x_norm per vision channel) times W [8, 4].
    const x = (Math.round(0.9 * 255) / 255 - 0.5) / 0.5;
    const w = testWeights().projector['feature_embedder.proj.weight']!.data as Float32Array;
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 8; j++) {
        const v = (k + 1) * x * (w[j * 4]! + w[j * 4 + 1]! + w[j * 4 + 2]! + w[j * 4 + 3]!);
        expect(m2.styles[0]!.data[k * 8 + j]).toBeCloseTo(v, 4);
      }
    }
    expect(m2.byteSize).toBeGreaterThan(m1.byteSize);
    await expect(usoStyleReference.execute({ model: m0, model_patch: patch, clip_vision_output: {} }, c)).rejects.toThrow(/CLIP_VISION_OUTPUT/);
  });
});

describe('USOSampler', () => {
  it("runs USO's loop: its schedule, Euler from noise, guidance as input, diagonal reference ids", async () => {
    const m = await model();
    const ref = Tensor.float32([1, 16, 2, 4], Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)));
    const entry: ConditioningEntry = {
      cond: Tensor.float32([1, 2, 8], Float32Array.from({ length: 16 }, (_, i) => i / 16)),
      pooled_output: Tensor.float32([1, 6], new Float32Array(6).fill(0.25)),
      guidance: 3.5, // ignored: USOSampler's own guidance wins
      reference_latents: [ref],
    };
    const shape = [1, 16, 4, 4];
    const c = ctx();
    const [out] = (await usoSampler.execute(
      { model: m, positive: [entry], latent_image: { samples: Tensor.zeros([1, 4, 4, 4]) }, seed: 9, steps: 3, guidance: 4, reference_placement: 'd', schedule: 'uso' },
      c,
    )).outputs as [Latent];
    // Expected: the test DiT in JS (see test-support) inside runtime's sampleUso.
    const P = testProjection();
    const ids = usoReferenceIds({ h: 4, w: 4 }, [{ h: 2, w: 4 }], 'd');
    expect(Array.from(ids[0]!.subarray(0, 6))).toEqual([0, 2, 2, 0, 2, 3]); // token grid 2x2 target: refs start at (2, 2)
    const extra0 = 0.01 * 4 * (sum(entry.cond.data) / 16) + 0.001 * (sum(processLatentIn(ref.data)) + 1.5) + 0.0001 * sum(ids[0]!);
    const velocity = async (x: Float32Array, t: number) => {
      const tokens = packLatent(x, 1, 16, 4, 4);
      const v = new Float32Array(tokens.length);
      for (let n = 0; n < 4; n++) for (let f = 0; f < 64; f++) {
        let acc = extra0 + 0.5 * t;
        for (let k = 0; k < 64; k++) acc += tokens[n * 64 + k]! * P[f * 64 + k]!;
        v[n * 64 + f] = acc;
      }
      return unpackLatent(v, 1, 16, 4, 4);
    };
    const ts = usoSchedule(3, 32, 32, 'uso');
    const want = processLatentOut(await sampleUso(velocity, prepareNoise(shape, 9).data, ts));
    for (let i = 0; i < want.length; i++) expect(out.samples.data[i]).toBeCloseTo(want[i]!, 3);
    expect(c.progressCalls).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(c.previews).toHaveLength(3);
  });

  it('offers the flux schedule and the other placements, and refuses sizes USO cannot patch', async () => {
    const m = await model();
    const base = {
      model: m,
      positive: [{ cond: Tensor.zeros([1, 1, 8]), pooled_output: Tensor.zeros([1, 6]) }],
      latent: { samples: Tensor.zeros([1, 16, 4, 4]) },
      seed: 1n,
      steps: 2,
      guidance: 4,
      placement: 'o' as const,
    };
    const a = await runUsoSampler({ ...base, schedule: 'uso' }, ctx());
    const b = await runUsoSampler({ ...base, schedule: 'flux' }, ctx());
    expect(a.ditRuns).toBe(2);
    expect(Array.from(a.latent.samples.data)).not.toEqual(Array.from(b.latent.samples.data));
    await expect(runUsoSampler({ ...base, schedule: 'uso', latent: { samples: Tensor.zeros([1, 16, 3, 4]) } }, ctx())).rejects.toThrow(/multiple of 16/);
  });
});
