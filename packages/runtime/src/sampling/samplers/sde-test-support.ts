/**
 * Test support for the SDE samplers: the torch reference runs (scripts/make-sde-fixtures.py: ComfyUI's SDE formulas
 * in torch 1.13 on the CPU with an own torch reference of torchsde's Brownian tree; CONST model, FLUX.1-dev shift
 * 1.15, seed 3407) and the synthetic flow model they were made with.
 */

import { readFileSync } from 'node:fs';
import { denoiserFromVelocity, type Denoiser } from './common.ts';
import { ksample } from '../ksampler.ts';
import { torchRandn } from '../../noise/torch-randn.ts';
import { linspaceF32 } from '../../schedule/schedulers.ts';

/** One reference run: a sampler over a KSampler schedule, its float32 output as base64. */
export interface ReferenceRun {
  sampler: string;
  scheduler: string;
  steps: number;
  denoise: number;
  sigmas: number[];
  f32: string;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/sde-samplers.json', import.meta.url), 'utf8')) as {
  seed: number;
  shape: number[];
  runs: ReferenceRun[];
};

/** Little-endian float32 bytes in base64, as the fixture scripts write them. */
export function decodeF32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** The reference runs of one sampler (simple 6 steps, karras 5 steps at denoise 0.6, beta 9 steps, simple 28 steps). */
export function referenceRuns(sampler: string): ReferenceRun[] {
  return fixture.runs.filter((r) => r.sampler === sampler);
}

const f32 = Math.fround;

/** The fixture's synthetic flow model as a denoiser: v = x (0.5 + sigma) / (1 + x x) - 0.3 x with torch's roundings. */
export const syntheticDenoiser: Denoiser = denoiserFromVelocity(async (x, sigma) => {
  const s = f32(0.5 + f32(sigma));
  const c = f32(0.3);
  return x.map((v) => f32(f32(f32(v * s) / f32(1 + f32(v * v))) - f32(c * v)));
});

/** Runs `sampler` (a ComfyUI name) on a reference run's schedule through ksample; how far it lands from torch's. */
export async function compareWithReference(sampler: string, run: ReferenceRun): Promise<{ differing: number; maxErr: number }> {
  const out = await ksample(syntheticDenoiser, {
    sampler,
    sigmas: run.sigmas,
    latent: linspaceF32(-1, 1, 256),
    noise: torchRandn(fixture.seed, fixture.shape),
    seed: fixture.seed,
    latentFormat: null,
  });
  const ref = decodeF32(run.f32);
  let maxErr = 0;
  let differing = 0;
  for (let i = 0; i < ref.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(out[i]! - ref[i]!));
    if (out[i] !== ref[i]) differing++;
  }
  return { differing, maxErr };
}
