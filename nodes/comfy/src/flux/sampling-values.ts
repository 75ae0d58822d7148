/**
 * The values of ComfyUI's custom-sampling sockets: NOISE, SAMPLER, GUIDER and SIGMAS. ComfyUI passes Python objects
 * with methods; here each is plain, frozen data (no functions), so the engine can size, describe and cache it like
 * any other value, and the sampler node does the work.
 */

import { Tensor, getSampler } from '@uso-studio/runtime';
import { expectDescriptor, type ModelDescriptor } from '../models/descriptors.ts';
import { expectConditioning, type Conditioning } from './conditioning.ts';

/** NOISE: RandomNoise's seeded torch noise (prepare_noise) or DisableNoise's zeros (whose seed is 0, as ComfyUI's). */
export interface NoiseValue {
  readonly kind: 'NOISE';
  readonly source: 'random' | 'empty';
  readonly seed: bigint;
}

/** SAMPLER: a sampler of runtime's registry, by its ComfyUI name (KSamplerSelect's sampler_object). */
export interface SamplerValue {
  readonly kind: 'SAMPLER';
  readonly name: string;
}

/** GUIDER: the MODEL with its conditioning streams and CFG scale (BasicGuider: positive only, cfg 1). */
export interface GuiderValue {
  readonly kind: 'GUIDER';
  readonly model: ModelDescriptor;
  readonly positive: Conditioning;
  /** null for BasicGuider, which has no negative stream. */
  readonly negative: Conditioning | null;
  readonly cfg: number;
}

/** SIGMAS: a float32 tensor [n] of descending sigmas, as ComfyUI's 1-d tensor. */
export type SigmasValue = Tensor<'float32'>;

export function randomNoise(seed: bigint): NoiseValue {
  return Object.freeze({ kind: 'NOISE', source: 'random', seed });
}

export function emptyNoise(): NoiseValue {
  return Object.freeze({ kind: 'NOISE', source: 'empty', seed: 0n });
}

/** A SAMPLER for a registry name; an unknown name is refused here with the list of names. */
export function samplerValue(name: string): SamplerValue {
  getSampler(name);
  return Object.freeze({ kind: 'SAMPLER', name });
}

export function guiderValue(model: ModelDescriptor, positive: Conditioning, negative: Conditioning | null, cfg: number): GuiderValue {
  return Object.freeze({ kind: 'GUIDER', model, positive, negative, cfg });
}

export function sigmasValue(sigmas: readonly number[]): SigmasValue {
  return Tensor.float32([sigmas.length], Float32Array.from(sigmas));
}

function expectKind<K extends string>(value: unknown, kind: K, input: string): void {
  if (!value || typeof value !== 'object' || (value as { kind?: unknown }).kind !== kind) {
    throw new TypeError(`input '${input}' must be a ${kind} (from a ${kind === 'NOISE' ? 'RandomNoise or DisableNoise' : kind === 'SAMPLER' ? 'KSamplerSelect' : 'BasicGuider or CFGGuider'} node)`);
  }
}

export function expectNoise(value: unknown, input: string): NoiseValue {
  expectKind(value, 'NOISE', input);
  return value as NoiseValue;
}

export function expectSampler(value: unknown, input: string): SamplerValue {
  expectKind(value, 'SAMPLER', input);
  return value as SamplerValue;
}

export function expectGuider(value: unknown, input: string): GuiderValue {
  expectKind(value, 'GUIDER', input);
  const guider = value as GuiderValue;
  expectDescriptor<'MODEL', ModelDescriptor>(guider.model, 'MODEL', `${input}.model`);
  expectConditioning(guider.positive, `${input}.positive`);
  if (guider.negative !== null) expectConditioning(guider.negative, `${input}.negative`);
  return guider;
}

export function expectSigmas(value: unknown, input: string): SigmasValue {
  if (!(value instanceof Tensor) || value.dtype !== 'float32' || value.shape.length !== 1) {
    throw new TypeError(`input '${input}' must be SIGMAS (a 1-d float32 tensor, e.g. from BasicScheduler)`);
  }
  return value as SigmasValue;
}
