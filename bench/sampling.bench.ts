/**
 * Sampling-side costs that run outside the model at 1024x1024 ([1, 16, 128, 128] latents): drawing the initial
 * noise like torch, one sampler step's arithmetic, and EasyCache's bookkeeping per call. Each is tiny next to a
 * FLUX forward pass (seconds), which is the point: they must stay out of the way.
 */
import { torchRandn } from '../packages/runtime/src/noise/torch-randn.ts';
import { sampleEuler, sampleDpmpp2m, type Denoiser } from '../packages/runtime/src/sampling/samplers.ts';
import { withEasyCache } from '../packages/runtime/src/sampling/easy-cache.ts';
import { bestMs } from './measure.ts';
import type { BenchResult } from './types.ts';

const SHAPE = [1, 16, 128, 128];
const N = 16 * 128 * 128;

export default async function (): Promise<BenchResult[]> {
  const randn = await bestMs(() => torchRandn(1058487910949722n, SHAPE));
  const mathRandom = await bestMs(() => Float32Array.from({ length: N }, Math.random));

  const x = torchRandn(1, SHAPE);
  const identity: Denoiser = async (v) => v.map((t) => t * 0.5);
  const model = await bestMs(() => identity(x, 1));
  const sigmas = [1, 0.9, 0.8, 0.7, 0.6, 0];
  const euler = ((await bestMs(() => sampleEuler(identity, x, sigmas))) - 5 * model) / 5;
  const dpm = ((await bestMs(() => sampleDpmpp2m(identity, x, sigmas))) - 5 * model) / 5;

  const cached = withEasyCache(async (v) => v, { shape: SHAPE, startPercent: 0, endPercent: 1 });
  let s = 0.99;
  const cacheCall = await bestMs(async () => {
    s = s > 0.1 ? s - 0.01 : 0.99;
    await cached.model(x, s);
  });

  return [
    {
      name: 'torchRandn [1,16,128,128] (bit-exact torch noise)',
      value: randn,
      unit: 'ms',
      better: 'lower',
      target: '<= 150 ms',
      baseline: { name: 'Float32Array.from(Math.random) same size', value: mathRandom },
    },
    { name: 'euler step arithmetic, 1024x1024 latent', value: euler, unit: 'ms/step', better: 'lower', target: '<= 20 ms' },
    { name: 'dpmpp_2m step arithmetic, 1024x1024 latent', value: dpm, unit: 'ms/step', better: 'lower', target: '<= 20 ms' },
    { name: 'EasyCache bookkeeping per call, 1024x1024 latent', value: cacheCall, unit: 'ms', better: 'lower', target: '<= 20 ms' },
  ];
}
