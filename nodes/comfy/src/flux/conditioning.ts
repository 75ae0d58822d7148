/**
 * CONDITIONING values: a list of entries, each a text encoding with its pooled vector and the extras FLUX reads
 * (guidance, reference latents and how to place them). Nodes that change an entry return new entries.
 */

import type { Tensor } from '@uso-studio/runtime';

/** How reference latents are placed in RoPE id space (ComfyUI's ref_latents_method). */
export type ReferenceLatentsMethod = 'offset' | 'index' | 'uxo';

/** One conditioning entry (ComfyUI's [cond, {pooled_output, ...}] pair as one object). */
export interface ConditioningEntry {
  /** Text encoder sequence output [1, L, ctx]. */
  readonly cond: Tensor<'float32'>;
  /** Pooled vector [1, vec], or null when the encoder gave none. */
  readonly pooled_output: Tensor<'float32'> | null;
  /** FLUX's distilled guidance (FluxGuidance); 3.5 when absent, as ComfyUI's Flux.extra_conds does. */
  readonly guidance?: number;
  /** Raw VAE latents [1, 16, h, w] of the reference images (ReferenceLatent), in the order added. */
  readonly reference_latents?: readonly Tensor<'float32'>[];
  readonly reference_latents_method?: ReferenceLatentsMethod;
  /** Weight of this entry when several are averaged (ComfyUI's "strength"); default 1. */
  readonly strength?: number;
  /**
   * Sampling progress (0 = first step, 1 = the end) from which this entry takes part (ConditioningSetTimestepRange's
   * start); the sampler turns it into a sigma through the MODEL's sampling (percent_to_sigma).
   */
  readonly start_percent?: number;
  /** Sampling progress after which this entry no longer takes part (ConditioningSetTimestepRange's end). */
  readonly end_percent?: number;
}

export type Conditioning = readonly ConditioningEntry[];

/** ComfyUI's default FLUX guidance when the conditioning sets none. */
export const DEFAULT_FLUX_GUIDANCE = 3.5;

/** Checks a socket value is CONDITIONING. */
export function expectConditioning(value: unknown, input: string): Conditioning {
  if (!Array.isArray(value) || value.some((e) => !e || typeof e !== 'object' || !('cond' in e))) {
    throw new TypeError(`input '${input}' must be a CONDITIONING (a list of {cond, pooled_output, ...})`);
  }
  return value as Conditioning;
}

/** node_helpers.conditioning_set_values: every entry gets the given keys (new objects, old ones untouched). */
export function setConditioningValues(conditioning: Conditioning, values: Partial<ConditioningEntry>): ConditioningEntry[] {
  return conditioning.map((entry) => ({ ...entry, ...values }));
}
