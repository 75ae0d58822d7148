/**
 * Combined and time-ranged conditioning (ConditioningCombine, ConditioningSetTimestepRange) on the real FLUX DiT at
 * toy width (the tiny set), through ComfyUI's KSampler and through USOSampler.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY_CLIP, TINY_FILES, TINY_T5, Tensor } from '@uso-studio/runtime';
import { conditioningCombine, conditioningSetTimestepRange, kSampler, unetLoader, type Conditioning, type Latent, type ModelDescriptor } from '@uso-studio/nodes-comfy';
import { usoSampler } from './uso-sampler.ts';
import { tinySetHost } from './tiny-set-host.ts';

const host = tinySetHost('conditioning-ranges-');
const output = host.output;

function text(seed: number): Conditioning {
  const tokens = 5;
  const txt = Float32Array.from({ length: tokens * TINY_T5.width }, (_, i) => Math.sin(0.41 * i + seed) * 0.8);
  const vec = Float32Array.from({ length: TINY_CLIP.width }, (_, i) => Math.cos(0.29 * i + seed) * 0.6);
  return [{ cond: Tensor.float32([1, tokens, TINY_T5.width], txt), pooled_output: Tensor.float32([1, TINY_CLIP.width], vec) }];
}

const ranged = (conditioning: Conditioning, start: number, end: number) => output<Conditioning>(conditioningSetTimestepRange, { conditioning, start, end });
const combined = (a: Conditioning, b: Conditioning) => output<Conditioning>(conditioningCombine, { conditioning_1: a, conditioning_2: b });
const model = () => output<ModelDescriptor>(unetLoader, { unet_name: path.basename(TINY_FILES.dit), weight_dtype: 'default' });
const empty = (): Latent => ({ samples: Tensor.zeros([1, 16, 4, 4]) });

async function kSample(positive: Conditioning, steps: number): Promise<number[]> {
  const latent = await output<Latent>(kSampler, {
    model: await model(), seed: 8, steps, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive, negative: positive, latent_image: empty(), denoise: 1,
  });
  return Array.from(latent.samples.data);
}

async function usoSample(positive: Conditioning, steps: number): Promise<number[]> {
  const latent = await output<Latent>(usoSampler, {
    model: await model(), positive, latent_image: empty(), seed: 8, steps, guidance: 4, reference_placement: 'd', schedule: 'uso',
  });
  return Array.from(latent.samples.data);
}

describe('combined and ranged conditioning on the real FLUX DiT (tiny set)', () => {
  it('KSampler: one step of Combine(A, B) is the mean of one step of A and one of B (euler lands on x0)', async () => {
    const [a, b] = [text(1), text(2)];
    const both = await kSample(await combined(a, b), 1);
    const [onlyA, onlyB] = [await kSample(a, 1), await kSample(b, 1)];
    both.forEach((v, i) => expect(Math.abs(v - (onlyA[i]! + onlyB[i]!) / 2)).toBeLessThan(1e-4 * (1 + Math.abs(v))));
    expect(both).not.toEqual(onlyA);
  }, 60_000);

  it.each([
    ['KSampler', kSample],
    ['USOSampler', usoSample],
  ] as const)('%s: ranges that split the schedule between two copies of A give A exactly; A then B differs from both', async (_name, sample) => {
    const [a, b] = [text(3), text(4)];
    const plain = await sample(a, 4);
    expect(await sample(await combined(await ranged(a, 0, 0.5), await ranged(a, 0.5, 1)), 4)).toEqual(plain);
    const aThenB = await sample(await combined(await ranged(a, 0, 0.5), await ranged(b, 0.5, 1)), 4);
    expect(aThenB).not.toEqual(plain);
    expect(aThenB).not.toEqual(await sample(b, 4));
  }, 60_000);
});
