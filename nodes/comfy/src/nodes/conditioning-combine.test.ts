import { afterAll, describe, expect, it } from 'vitest';
import type { ApiPrompt } from '@uso-studio/core';
import { calculateSigmas, ksample, modelSamplingFlux, percentToSigma, prepareNoise, type Denoiser } from '@uso-studio/runtime';
import { pack } from '../index.ts';
import { capturingEngine, makeTestHost, referenceVelocity } from '../test-support.ts';
import type { Latent } from '../flux/sample.ts';
import type { Conditioning, ConditioningEntry } from '../flux/conditioning.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const engine = capturingEngine(host.env, pack.nodes);

const SHAPE = [1, 16, 4, 4];
const STEPS = 6;
const SEED = 17;

/** Loaders, prompt A (node 3) and prompt B (node 4), an empty 32x32 latent; `positive` feeds KSampler at cfg 1. */
function prompt(extra: ApiPrompt, positive: [string, number]): ApiPrompt {
  return {
    '1': { class_type: 'UNETLoader', inputs: { unet_name: 'test-dit.safetensors', weight_dtype: 'default' } },
    '2': { class_type: 'DualCLIPLoader', inputs: { clip_name1: 'test-t5xxl.safetensors', clip_name2: 'test-clip_l.safetensors', type: 'flux' } },
    '3': { class_type: 'CLIPTextEncode', inputs: { text: 'a red cat', clip: ['2', 0] } },
    '4': { class_type: 'CLIPTextEncode', inputs: { text: 'the blue dog on the grass', clip: ['2', 0] } },
    '5': { class_type: 'EmptySD3LatentImage', inputs: { width: 32, height: 32, batch_size: 1 } },
    ...extra,
    '20': {
      class_type: 'KSampler',
      inputs: { model: ['1', 0], seed: SEED, steps: STEPS, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive, negative: ['4', 0], latent_image: ['5', 0], denoise: 1 },
    },
    '90': { class_type: 'TestCapture', inputs: { value: ['20', 0] } },
    '91': { class_type: 'TestCapture', inputs: { value: positive } },
    '92': { class_type: 'TestCapture', inputs: { value: ['3', 0] } },
    '93': { class_type: 'TestCapture', inputs: { value: ['4', 0] } },
  };
}

const range = (conditioning: [string, number], start: number, end: number) => ({ class_type: 'ConditioningSetTimestepRange', inputs: { conditioning, start, end } });
const combine = (a: [string, number], b: [string, number]) => ({ class_type: 'ConditioningCombine', inputs: { conditioning_1: a, conditioning_2: b } });
const samples = (v: unknown) => Array.from((v as Latent).samples.data);

/**
 * KSampler's result computed in JavaScript: the test DiT per entry (referenceVelocity), the entries whose [start, end]
 * percents hold sigma averaged as denoised predictions (independent of flux/cond-batch.ts), euler on the simple
 * schedule from the seed's noise.
 */
async function expected(entries: readonly { entry: ConditioningEntry; start?: number; end?: number }[]): Promise<Float32Array> {
  const denoise: Denoiser = async (x, sigma) => {
    const out = new Float64Array(x.length);
    let count = 0;
    for (const { entry, start = 0, end = 1 } of entries) {
      if (sigma > Math.fround(percentToSigma(start)) || sigma < Math.fround(percentToSigma(end))) continue;
      const v = await referenceVelocity(SHAPE, entry)(x, sigma);
      for (let k = 0; k < x.length; k++) out[k]! += x[k]! - v[k]! * sigma;
      count++;
    }
    return Float32Array.from(out, (d) => (count ? d / count : 0));
  };
  const sigmas = calculateSigmas(modelSamplingFlux(), 'simple', STEPS);
  return ksample(denoise, { sampler: 'euler', sigmas, latent: new Float32Array(16 * 16), noise: prepareNoise(SHAPE, SEED).data, seed: SEED });
}

function close(a: number[], b: Float32Array) {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(b[i]!))));
}

describe('ConditioningCombine and ConditioningSetTimestepRange in a KSampler workflow', () => {
  it('ConditioningCombine lists both conditionings in order; KSampler averages their predictions', async () => {
    const run = await engine.run(prompt({ '10': combine(['3', 0], ['4', 0]) }, ['10', 0]));
    const [a, b] = [run.values.get('92') as Conditioning, run.values.get('93') as Conditioning];
    expect(run.values.get('91')).toEqual([...a, ...b]);
    close(samples(run.values.get('90')), await expected([{ entry: a[0]! }, { entry: b[0]! }]));
    const alone = await engine.run(prompt({}, ['3', 0]));
    close(samples(alone.values.get('90')), await expected([{ entry: a[0]! }]));
    expect(samples(alone.values.get('90'))).not.toEqual(samples(run.values.get('90')));
  });

  it('ConditioningSetTimestepRange sets start/end percents on every entry (the input stays as it was)', async () => {
    const run = await engine.run(prompt({ '10': combine(['3', 0], ['4', 0]), '11': range(['10', 0], 0.25, 0.75) }, ['11', 0]));
    const ranged = run.values.get('91') as Conditioning;
    expect(ranged.map((e) => [e.start_percent, e.end_percent])).toEqual([[0.25, 0.75], [0.25, 0.75]]);
    expect((run.values.get('92') as Conditioning)[0]!.start_percent).toBeUndefined();
  });

  it('an entry takes part only inside its range: A for the first half of the schedule, B for the second', async () => {
    const run = await engine.run(prompt({ '10': range(['3', 0], 0, 0.5), '11': range(['4', 0], 0.5, 1), '12': combine(['10', 0], ['11', 0]) }, ['12', 0]));
    const [a, b] = [(run.values.get('92') as Conditioning)[0]!, (run.values.get('93') as Conditioning)[0]!];
    const split = samples(run.values.get('90'));
    close(split, await expected([{ entry: a, start: 0, end: 0.5 }, { entry: b, start: 0.5, end: 1 }]));
    const both = await engine.run(prompt({ '12': combine(['3', 0], ['4', 0]) }, ['12', 0]));
    expect(split).not.toEqual(samples(both.values.get('90')));
  });

  it('splitting one conditioning into two ranges that cover the schedule gives exactly the unsplit result', async () => {
    const split = await engine.run(prompt({ '10': range(['3', 0], 0, 0.4), '11': range(['3', 0], 0.4, 1), '12': combine(['10', 0], ['11', 0]) }, ['12', 0]));
    const plain = await engine.run(prompt({}, ['3', 0]));
    expect(samples(split.values.get('90'))).toEqual(samples(plain.values.get('90')));
    // A range no step reaches (after the last non-zero sigma) changes nothing either: its entry never runs.
    const idle = await engine.run(prompt({ '10': range(['4', 0], 0.9999, 1), '12': combine(['3', 0], ['10', 0]) }, ['12', 0]));
    expect(samples(idle.values.get('90'))).toEqual(samples(plain.values.get('90')));
  });

  it('SamplerCustomAdvanced with a BasicGuider over ranged conditioning gives KSampler’s latent exactly', async () => {
    const ranged = { '10': range(['3', 0], 0, 0.5), '11': range(['4', 0], 0.5, 1), '12': combine(['10', 0], ['11', 0]) };
    const k = await engine.run(prompt(ranged, ['12', 0]));
    const custom = await engine.run({
      ...prompt(ranged, ['12', 0]),
      '30': { class_type: 'RandomNoise', inputs: { noise_seed: SEED } },
      '31': { class_type: 'BasicGuider', inputs: { model: ['1', 0], conditioning: ['12', 0] } },
      '32': { class_type: 'KSamplerSelect', inputs: { sampler_name: 'euler' } },
      '33': { class_type: 'BasicScheduler', inputs: { model: ['1', 0], scheduler: 'simple', steps: STEPS, denoise: 1 } },
      '34': { class_type: 'SamplerCustomAdvanced', inputs: { noise: ['30', 0], guider: ['31', 0], sampler: ['32', 0], sigmas: ['33', 0], latent_image: ['5', 0] } },
      '95': { class_type: 'TestCapture', inputs: { value: ['34', 0] } },
    });
    expect(samples(custom.values.get('95'))).toEqual(samples(k.values.get('90')));
  });
});
