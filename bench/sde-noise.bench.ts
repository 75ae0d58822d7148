/**
 * The SDE samplers' Brownian-tree noise at 1024x1024 ([1, 16, 128, 128] latents): ComfyUI's BrownianTreeNoiseSampler
 * over a 28-step FLUX simple schedule, per step, against default_noise_sampler's one randn per step. The tree draws
 * one seeded randn per node it creates (about 15 per step), so it is the costliest part of a step outside the model.
 */
import { brownianTreeNoiseSampler, defaultNoiseSampler } from '../packages/runtime/src/sampling/samplers.ts';
import { ksamplerSigmas } from '../packages/runtime/src/schedule/schedulers.ts';
import { bestMs } from './measure.ts';
import type { BenchResult } from './types.ts';

const N = 16 * 128 * 128;

export default async function (): Promise<BenchResult[]> {
  const sigmas = ksamplerSigmas({ scheduler: 'simple', steps: 28, denoise: 1, sampler: 'dpmpp_2m_sde' });
  const steps = sigmas.length - 2; // the last step lands on D without noise
  const perStep = async (make: () => (s: number, sn: number, n: number) => Float32Array) =>
    (await bestMs(
      () => {
        const noise = make();
        for (let i = 0; i < steps; i++) noise(sigmas[i]!, sigmas[i + 1]!, N);
      },
      { rounds: 2, warmup: 0 },
    )) / steps;
  const defaultNoise = await perStep(() => defaultNoiseSampler(7));
  const tree = await perStep(() => brownianTreeNoiseSampler(N, sigmas, { seed: 7 }));
  return [
    {
      name: 'Brownian-tree noise per step, 28-step simple schedule, 1024x1024 latent',
      value: tree,
      unit: 'ms/step',
      better: 'lower',
      baseline: { name: 'default_noise_sampler (one torch randn) per step, same latent', value: defaultNoise },
    },
  ];
}
