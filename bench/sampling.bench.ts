/**
 * Sampling-side costs that run outside the model at 1024x1024 ([1, 16, 128, 128] latents): drawing the initial
 * noise like torch, one sampler step's arithmetic (first- and multistep samplers), and EasyCache's bookkeeping per call. Each is tiny next to a
 * FLUX forward pass (seconds), which is the point: they must stay out of the way.
 */
import { torchRandn } from '../packages/runtime/src/noise/torch-randn.ts';
import {
  sampleDeis,
  sampleDpmpp2m,
  sampleEuler,
  sampleIpndmV,
  sampleResMultistep,
  sampleUniPc,
  type Denoiser,
} from '../packages/runtime/src/sampling/samplers.ts';
import { withEasyCache } from '../packages/runtime/src/sampling/easy-cache.ts';
import { bestMs } from './measure.ts';
import type { BenchResult } from './types.ts';

const SHAPE = [1, 16, 128, 128];
const N = 16 * 128 * 128;

export default async function (): Promise<BenchResult[]> {
  const randn = await bestMs(() => torchRandn(1058487910949722n, SHAPE));
  const mathRandom = await bestMs(() => Float32Array.from({ length: N }, Math.random));

  const x = torchRandn(1, SHAPE);
  // A model that costs nothing (samplers never write into D), so a run's time is the samplers' own arithmetic;
  // several warm-up runs so the JIT has compiled the longer samplers' loops (steady state, as in a long sampling run).
  const prediction = x.map((t) => t * 0.5);
  const constant: Denoiser = async () => prediction;
  const sigmas = [1, 0.9, 0.8, 0.7, 0.6, 0];
  const perStep = async (sample: (d: Denoiser, x: Float32Array, s: readonly number[]) => Promise<Float32Array>) =>
    (await bestMs(() => sample(constant, x, sigmas), { warmup: 5, rounds: 7 })) / (sigmas.length - 1);
  const euler = await perStep(sampleEuler);
  const dpm = await perStep(sampleDpmpp2m);
  // Multistep samplers with the most per-step arithmetic: history combinations (ipndm_v, res_multistep), DEIS's
  // numerically integrated weights (10,000 points per step), UniPC's predictor-corrector on the VP view.
  const ipndmV = await perStep(sampleIpndmV);
  const res = await perStep(sampleResMultistep);
  const deis = await perStep(sampleDeis);
  const uniPc = await perStep(sampleUniPc);

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
    ...(
      [
        ['ipndm_v', ipndmV],
        ['res_multistep', res],
        ['deis', deis],
        ['uni_pc', uniPc],
      ] as const
    ).map(([name, value]) => ({
      name: `${name} step arithmetic, 1024x1024 latent`,
      value,
      unit: 'ms/step',
      better: 'lower' as const,
      target: '<= 20 ms',
      baseline: { name: 'euler step arithmetic, same run', value: euler },
    })),
    { name: 'EasyCache bookkeeping per call, 1024x1024 latent', value: cacheCall, unit: 'ms', better: 'lower', target: '<= 20 ms' },
  ];
}
