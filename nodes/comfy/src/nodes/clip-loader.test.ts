/**
 * CLIPLoader on the tiny real-architecture set, in workflows through the engine: a T5-XXL alone (type sd3) encodes
 * prompts exactly as the T5 half of DualCLIPLoader's pair does, without a pooled vector (the DiT reads zeros, as
 * ComfyUI's FLUX does); a CLIP-L alone (type
 * stable_diffusion) loads and CLIPTextEncode says FLUX needs T5-XXL; types this project cannot run, and a file of the
 * wrong kind, are refused with what they need.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineNode, Executor, NodeRegistry } from '@uso-studio/core';
import { Tensor, TINY_CLIP, TINY_FILES } from '@uso-studio/runtime';
import { pack } from '../index.ts';
import type { ConditioningEntry } from '../flux/conditioning.ts';
import { tinyEncodersHost } from './tiny-encoders-host.ts';

const host = tinyEncodersHost('uso-clip-loader-');
const captured = new Map<string, ConditioningEntry>();
const capture = defineNode({
  name: 'TestCaptureConditioning',
  category: 'testing',
  inputs: { required: { conditioning: { type: 'CONDITIONING' }, key: { type: 'STRING' } } },
  outputs: [],
  outputNode: true,
  execute(inputs) {
    captured.set(String(inputs['key']), (inputs['conditioning'] as ConditioningEntry[])[0]!);
    return { ui: {} };
  },
});

const latents = new Map<string, Tensor<'float32'>>();
const captureLatent = defineNode({
  name: 'TestCaptureLatent',
  category: 'testing',
  inputs: { required: { samples: { type: 'LATENT' }, key: { type: 'STRING' } } },
  outputs: [],
  outputNode: true,
  execute(inputs) {
    latents.set(String(inputs['key']), (inputs['samples'] as { samples: Tensor<'float32'> }).samples);
    return { ui: {} };
  },
});

/** The pair's conditioning with its pooled vector replaced by zeros of the tiny DiT's width (TINY_CLIP.width). */
const zeroPooled = defineNode({
  name: 'TestZeroPooled',
  category: 'testing',
  inputs: { required: { conditioning: { type: 'CONDITIONING' } } },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    const entries = inputs['conditioning'] as ConditioningEntry[];
    return { outputs: [entries.map((e) => ({ ...e, pooled_output: Tensor.zeros([1, TINY_CLIP.width]) }))] };
  },
});

type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
async function run(prompt: Prompt) {
  const executor = new Executor({ registry: new NodeRegistry([...pack.nodes, capture, captureLatent, zeroPooled]), env: host.env() });
  return executor.run(prompt, { promptId: 'clip-loader' });
}
const t5Name = path.basename(TINY_FILES.t5);
const clipName = path.basename(TINY_FILES.clip);
const encode = (clip: [string, number], key: string): Prompt => ({
  [`enc_${key}`]: { class_type: 'CLIPTextEncode', inputs: { text: 'a red cat', clip } },
  [`out_${key}`]: { class_type: 'TestCaptureConditioning', inputs: { conditioning: [`enc_${key}`, 0], key } },
});


describe('CLIPLoader', () => {
  it('loads a T5-XXL alone (sd3): the same sequence as the flux pair, no pooled vector, and a FLUX DiT samples with it', async () => {
    const outcome = await run({
      single: { class_type: 'CLIPLoader', inputs: { clip_name: t5Name, type: 'sd3', device: 'default' } },
      pair: { class_type: 'DualCLIPLoader', inputs: { clip_name1: t5Name, clip_name2: clipName, type: 'flux' } },
      ...encode(['single', 0], 'single'),
      ...encode(['pair', 0], 'pair'),
      unet: { class_type: 'UNETLoader', inputs: { unet_name: path.basename(TINY_FILES.dit), weight_dtype: 'default' } },
      latent: { class_type: 'EmptySD3LatentImage', inputs: { width: 32, height: 32, batch_size: 1 } },
      ks: {
        class_type: 'KSampler',
        inputs: { model: ['unet', 0], seed: 1, steps: 1, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['enc_single', 0], negative: ['enc_single', 0], latent_image: ['latent', 0], denoise: 1 },
      },
      ks_out: { class_type: 'TestCaptureLatent', inputs: { samples: ['ks', 0], key: 'sampled' } },
      zeroed: { class_type: 'TestZeroPooled', inputs: { conditioning: ['enc_pair', 0] } },
      ks_zeroed: {
        class_type: 'KSampler',
        inputs: { model: ['unet', 0], seed: 1, steps: 1, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['zeroed', 0], negative: ['zeroed', 0], latent_image: ['latent', 0], denoise: 1 },
      },
      ks_zeroed_out: { class_type: 'TestCaptureLatent', inputs: { samples: ['ks_zeroed', 0], key: 'zeroed' } },
    });
    expect(outcome.status, JSON.stringify(outcome.error)).toBe('success');
    const single = captured.get('single')!;
    const pair = captured.get('pair')!;
    expect([...single.cond.shape]).toEqual([...pair.cond.shape]);
    expect([...single.cond.data]).toEqual([...pair.cond.data]);
    expect(single.pooled_output).toBeNull();
    // The DiT read zeros for the pooled vector (ComfyUI's y = None): the same latent as the pair's sequence with a
    // zero pooled vector.
    const sampled = latents.get('sampled')!;
    expect([...sampled.shape]).toEqual([1, 16, 4, 4]);
    expect([...sampled.data]).toEqual([...latents.get('zeroed')!.data]);
  });

  it('loads a CLIP-L alone (stable_diffusion); encoding it for FLUX is refused with what to do', async () => {
    const outcome = await run({
      single: { class_type: 'CLIPLoader', inputs: { clip_name: clipName, type: 'stable_diffusion' } },
      ...encode(['single', 0], 'clipOnly'),
    });
    expect(outcome.status).toBe('error');
    expect(outcome.error?.node_type).toBe('CLIPTextEncode');
    expect(outcome.error?.exception_message).toContain("FLUX's conditioning needs T5-XXL; load T5-XXL and CLIP-L with DualCLIPLoader (type flux)");
  });

  it('refuses types it cannot run, and a file of the wrong kind, naming what they need', async () => {
    const wan = await run({ c: { class_type: 'CLIPLoader', inputs: { clip_name: t5Name, type: 'wan' } }, ...encode(['c', 0], 'wan') });
    expect(wan.error?.exception_message).toMatch(/type 'wan' needs UMT5-XXL, which this project does not run; supported here: stable_diffusion \(CLIP-L\), sd3 \(T5-XXL\)/);
    const wrong = await run({ c: { class_type: 'CLIPLoader', inputs: { clip_name: clipName, type: 'sd3' } }, ...encode(['c', 0], 'wrong') });
    expect(wrong.error?.exception_message).toBe(`CLIPLoader: type 'sd3' takes a T5-XXL text encoder, and ${clipName} is not one`);
  });
});
