/**
 * Model descriptors: the values MODEL, CLIP, VAE, CLIP_VISION and MODEL_PATCH sockets carry. Each is a frozen plain
 * object naming weight files (absolute paths) and what was applied to them; sessions are made lazily by the model
 * service when a node first runs one. Applying a LoRA, a style or a wrapper returns a NEW descriptor, so the
 * engine's cache keys stay sound and the old descriptor keeps working.
 */

import type { Tensor } from '@uso-studio/runtime';
import type { LoraApplication } from './lora.ts';

/** EasyCache settings carried by a MODEL (ComfyUI's EasyCache node). */
export interface EasyCacheSettings {
  readonly reuseThreshold: number;
  readonly startPercent: number;
  readonly endPercent: number;
  readonly verbose: boolean;
}

/** MODEL: a diffusion transformer with LoRAs, USO style tokens and wrappers. */
export interface ModelDescriptor {
  readonly kind: 'MODEL';
  /** Absolute path of the weight file (a checkpoint or a diffusion model). */
  readonly file: string;
  /** The name the user picked, for messages. */
  readonly name: string;
  readonly loras: readonly LoraApplication[];
  /**
   * Projected style tokens [1, S, hidden] per USOStyleReference, in the order the DiT sees them: the last applied
   * comes first (each node prepends, as ComfyUI's post-input patches do).
   */
  readonly styles: readonly Tensor<'float32'>[];
  /** Model sampling shift (FLUX.1-dev: 1.15). */
  readonly shift: number;
  readonly easyCache?: EasyCacheSettings;
  readonly byteSize: number;
}

/**
 * CLIP: FLUX's pair of text encoders (T5-XXL for the sequence, CLIP-L for the pooled vector), or one of them alone
 * (CLIPLoader).
 */
export interface ClipDescriptor {
  readonly kind: 'CLIP';
  /** T5-XXL; absent when CLIPLoader loaded a CLIP-L alone. */
  readonly t5?: TextEncoderRef;
  /** CLIP-L; absent when CLIPLoader loaded a T5-XXL alone. */
  readonly clip?: TextEncoderRef;
  /** The loader's type ('flux' for DualCLIPLoader and checkpoints; CLIPLoader's type otherwise). */
  readonly type: string;
  readonly byteSize: number;
}

/** One text encoder: its weight file, the tokenizer.json it uses and the LoRAs applied to it (LoraLoader). */
export interface TextEncoderRef {
  readonly file: string;
  readonly name: string;
  readonly tokenizer: string;
  readonly loras?: readonly LoraApplication[];
}

export interface VaeDescriptor {
  readonly kind: 'VAE';
  readonly file: string;
  readonly name: string;
  readonly byteSize: number;
}

export interface ClipVisionDescriptor {
  readonly kind: 'CLIP_VISION';
  readonly file: string;
  readonly name: string;
  readonly byteSize: number;
}

/** MODEL_PATCH: a USO projector (other patch kinds are not supported). */
export interface ModelPatchDescriptor {
  readonly kind: 'MODEL_PATCH';
  readonly file: string;
  readonly name: string;
  readonly patchType: 'uso_projector';
  readonly byteSize: number;
}

/** Small fixed size for descriptors without tensors (paths and numbers). */
const BASE_BYTES = 512;

/** A new MODEL descriptor for a weight file. */
export function modelDescriptor(file: string, name: string, shift = 1.15): ModelDescriptor {
  return Object.freeze({ kind: 'MODEL', file, name, loras: Object.freeze([]), styles: Object.freeze([]), shift, byteSize: BASE_BYTES });
}

/** A copy of `model` with changes; recomputes byteSize from the style tensors it holds. */
export function withModel(model: ModelDescriptor, change: Partial<Omit<ModelDescriptor, 'kind' | 'byteSize'>>): ModelDescriptor {
  const next = { ...model, ...change };
  const styleBytes = next.styles.reduce((sum, t) => sum + t.byteSize, 0);
  return Object.freeze({
    ...next,
    loras: Object.freeze([...next.loras]),
    styles: Object.freeze([...next.styles]),
    byteSize: BASE_BYTES + styleBytes,
  });
}

export function vaeDescriptor(file: string, name: string): VaeDescriptor {
  return Object.freeze({ kind: 'VAE', file, name, byteSize: BASE_BYTES });
}

export function clipVisionDescriptor(file: string, name: string): ClipVisionDescriptor {
  return Object.freeze({ kind: 'CLIP_VISION', file, name, byteSize: BASE_BYTES });
}

export function clipDescriptor(t5: TextEncoderRef | undefined, clip: TextEncoderRef | undefined, type: string): ClipDescriptor {
  return Object.freeze({
    kind: 'CLIP',
    ...(t5 ? { t5: Object.freeze({ ...t5 }) } : {}),
    ...(clip ? { clip: Object.freeze({ ...clip }) } : {}),
    type,
    byteSize: BASE_BYTES,
  });
}

/** A copy of `clip` with `lora` added to the encoders named (each keeps its earlier LoRAs, in order). */
export function withClipLora(clip: ClipDescriptor, lora: LoraApplication, encoders: { t5: boolean; clip: boolean }): ClipDescriptor {
  const add = (ref: TextEncoderRef | undefined, apply: boolean) => (ref && apply ? { ...ref, loras: Object.freeze([...(ref.loras ?? []), lora]) } : ref);
  return clipDescriptor(add(clip.t5, encoders.t5), add(clip.clip, encoders.clip), clip.type);
}

/** The model-service request that runs a text encoder with its LoRAs. */
export function textEncoderRequest(ref: TextEncoderRef, role: 't5' | 'clip'): { file: string; role: 't5' | 'clip'; loras: readonly LoraApplication[] } {
  return { file: ref.file, role, loras: ref.loras ?? [] };
}

export function modelPatchDescriptor(file: string, name: string): ModelPatchDescriptor {
  return Object.freeze({ kind: 'MODEL_PATCH', file, name, patchType: 'uso_projector', byteSize: BASE_BYTES });
}

/** Checks a socket value is the descriptor kind a node expects (a clear error instead of a crash deep inside). */
export function expectDescriptor<K extends string, T extends { kind: K }>(value: unknown, kind: K, input: string): T {
  if (!value || typeof value !== 'object' || (value as { kind?: unknown }).kind !== kind) {
    throw new TypeError(`input '${input}' must be a ${kind}, got ${describe(value)}`);
  }
  return value as T;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (is the loader connected and did it find the model?)';
  if (typeof value === 'object' && 'kind' in value) return String((value as { kind: unknown }).kind);
  return typeof value;
}
