/**
 * Drives a FLUX-style DiT graph (runtime's 'dit' contract) as a velocity model over a latent [B, 16, h, w] in the
 * model's (process_in) space: pack the latent into tokens, add the ids, the reference tokens and ids, the style
 * tokens of the MODEL (last applied first), the text sequence and pooled vector of one conditioning entry, the
 * guidance and the timestep (= sigma), run, and unpack the velocity.
 */

import { Tensor, processLatentIn, type VelocityModel } from '@uso-studio/runtime';
import type { ModelDescriptor } from '../models/descriptors.ts';
import type { GraphRequest, ModelService } from '../models/model-service.ts';
import { DEFAULT_FLUX_GUIDANCE, type ConditioningEntry } from './conditioning.ts';
import { gridIds, LatentPacking, packLatent, tokenLength, type RefSize } from './packing.ts';

/**
 * Tokens (image + reference, per item, times items) one DiT run may take: a batch runs in chunks of whole items up
 * to this (one item at least), so activations stay bounded by the chunk, not the batch, and the signal is checked
 * between chunks (about 0.2 s of the demo DiT on 2 idle cores, 0.5 s on a loaded one). The server's memory estimate counts the same chunk.
 */
export const DIT_TOKENS_PER_RUN = 8_192;

/** Places reference latents in id space: one ids array [tokens * 3] per reference. */
export type ReferencePlacer = (target: RefSize, refs: readonly RefSize[]) => Float32Array[];

/** The DiT graph request of a MODEL (its file and LoRAs). */
export function ditRequest(model: ModelDescriptor): GraphRequest {
  return { file: model.file, role: 'dit', loras: model.loras };
}

/** Options of {@link ditVelocityModel}. */
export interface DitVelocityOptions {
  service: ModelService;
  model: ModelDescriptor;
  /** Latent shape [B, 16, h, w] the sampler works on. */
  shape: readonly number[];
  entry: ConditioningEntry;
  placeReferences: ReferencePlacer;
  /** Overrides the entry's guidance (USO's sampler takes it as its own input). */
  guidance?: number;
  /** Counts DiT runs (for logs and tests). */
  onRun?: () => void;
  /**
   * The sampler works on packed tokens [B, N, 64] (see LatentPacking) instead of the latent [B, 16, h, w]: x goes to
   * the DiT as it is and the velocity comes back packed, so no step pays for packing.
   */
  tokenSpace?: boolean;
  /** Checked before each chunk of the batch: an interrupt lands between DiT runs, not after the whole batch. */
  signal?: AbortSignal;
  /** Overrides DIT_TOKENS_PER_RUN (tests). */
  tokensPerRun?: number;
}

/** Repeats a [1, ...] array `b` times along a new leading batch axis. */
function repeatBatch(data: Float32Array, b: number): Float32Array {
  if (b === 1) return data;
  const out = new Float32Array(data.length * b);
  for (let i = 0; i < b; i++) out.set(data, i * data.length);
  return out;
}

/** A [1, ...] or [b, ...] tensor's data as [b, ...] (a batch of one is repeated). */
function batchItems(t: Tensor<'float32'>, b: number, what: string): Float32Array {
  const n = t.shape[0]!;
  if (n === b) return t.data;
  if (n === 1) return repeatBatch(t.data, b);
  throw new RangeError(`${what} has batch ${n}, which does not match the latent batch ${b}`);
}

/**
 * The DiT's hidden width, which empty style inputs [B, 0, hidden] must still carry: the config's hidden size, else
 * the width of the MODEL's style tokens, else the text width (the demo DiT accepts any), else FLUX's 3072.
 */
async function ditHidden(service: ModelService, model: ModelDescriptor): Promise<number> {
  const graph = await service.graph(ditRequest(model));
  const config = graph.config as Record<string, unknown> | null;
  for (const key of ['hidden', 'hiddenSize', 'hidden_size']) {
    const v = config?.[key];
    if (typeof v === 'number' && v > 0) return v;
  }
  const style = model.styles[0];
  if (style) return style.shape[2]!;
  const ctx = config?.ctx;
  return typeof ctx === 'number' && ctx > 0 ? ctx : 3072;
}

/** The DiT's pooled-vector width (its config's `vec`; FLUX's 768 when the config does not say). */
async function ditVecWidth(service: ModelService, model: ModelDescriptor): Promise<number> {
  const config = (await service.graph(ditRequest(model))).config as Record<string, unknown> | null;
  const vec = config?.['vec'];
  return typeof vec === 'number' && vec > 0 ? vec : 768;
}

/**
 * A velocity model for one conditioning entry: x [B, 16, h, w] flat (model space; or packed tokens with `tokenSpace`)
 * and sigma in, velocity out in the same layout.
 * Everything but the latent and the timestep is prepared once here.
 */
export async function ditVelocityModel(options: DitVelocityOptions): Promise<VelocityModel> {
  const { service, model, entry, shape } = options;
  const [b, c, h, w] = shape as [number, number, number, number];
  const request = ditRequest(model);
  const hLen = tokenLength(h);
  const wLen = tokenLength(w);
  const n = hLen * wLen;

  // Target ids [B, N, 3].
  const imgIds = new Tensor('float32', [b, n, 3], repeatBatch(gridIds(hLen, wLen, 0, 0, 0), b));

  // Reference latents: process_in, pack, place.
  const refs = entry.reference_latents ?? [];
  const refSizes = refs.map((r) => ({ h: r.shape[2]!, w: r.shape[3]! }));
  const refIds = options.placeReferences({ h, w }, refSizes);
  const refTokens: Float32Array[] = [];
  let r = 0;
  refs.forEach((ref, i) => {
    const [rb, rc, rh, rw] = ref.shape as [number, number, number, number];
    if (rc !== c) throw new RangeError(`reference latent ${i + 1} has ${rc} channels; the model needs ${c} (encode it with the model's VAE)`);
    if (rb !== 1 && rb !== b) throw new RangeError(`reference latent ${i + 1} has batch ${rb}; use batch 1 or ${b}`);
    // A batch-1 reference serves every latent of the batch; a batch-B one pairs up item by item.
    const packed = packLatent(processLatentIn(ref.data), rb, rc, rh, rw); // [rb, tokens, 64]
    refTokens.push(rb === b ? packed : repeatBatch(packed, b)); // [B, tokens, 64]
    r += tokenLength(rh) * tokenLength(rw);
  });
  const refImg = new Float32Array(b * r * 64);
  const refImgIds = new Float32Array(b * r * 3);
  for (let bi = 0; bi < b; bi++) {
    let offset = 0;
    refTokens.forEach((tokens, i) => {
      const count = tokens.length / b / 64;
      refImg.set(tokens.subarray(bi * count * 64, (bi + 1) * count * 64), (bi * r + offset) * 64);
      refImgIds.set(refIds[i]!, (bi * r + offset) * 3);
      offset += count;
    });
  }

  // Text, pooled vector, guidance.
  const cond = entry.cond;
  const l = cond.shape[1]!;
  const ctx = cond.shape[2]!;
  const txt = new Tensor('float32', [b, l, ctx], batchItems(cond, b, 'the conditioning'));
  const txtIds = Tensor.zeros([b, l, 3]);
  // Without a pooled vector (a T5-XXL alone) the DiT reads zeros of its vector width, as ComfyUI's FLUX does for y = None.
  const pooled = entry.pooled_output;
  const y = pooled ? new Tensor('float32', [b, pooled.shape[1]!], batchItems(pooled, b, 'pooled_output')) : Tensor.zeros([b, await ditVecWidth(service, model)]);
  const guidance = new Tensor('float32', [b], new Float32Array(b).fill(options.guidance ?? entry.guidance ?? DEFAULT_FLUX_GUIDANCE));

  // Style tokens: already in DiT order (last applied first), concatenated along the token axis.
  const hidden = await ditHidden(service, model);
  const s = model.styles.reduce((sum, t) => sum + t.shape[1]!, 0);
  const styleOne = new Float32Array(s * hidden);
  let at = 0;
  for (const t of model.styles) {
    if (t.shape[2] !== hidden) throw new RangeError(`style tokens are ${t.shape[2]} wide but the DiT is ${hidden} wide (projector and model do not match)`);
    styleOne.set(t.data.subarray(0, t.shape[1]! * hidden), at);
    at += t.shape[1]! * hidden;
  }
  const style = new Tensor('float32', [b, s, hidden], repeatBatch(styleOne, b));

  const constant = {
    img_ids: imgIds,
    ref_img: new Tensor('float32', [b, r, 64], refImg),
    ref_img_ids: new Tensor('float32', [b, r, 3], refImgIds),
    txt,
    txt_ids: txtIds,
    style,
    guidance,
    y,
  };

  const packing = options.tokenSpace ? undefined : new LatentPacking(b, c, h, w);
  const perRun = Math.min(b, Math.max(1, Math.floor((options.tokensPerRun ?? DIT_TOKENS_PER_RUN) / (n + r))));
  const chunks = chunkInputs(constant, b, perRun);
  return async (x, sigma) => {
    const tokens = packing ? packing.pack(x) : x; // [B, N, C*4]
    const velocity = new Float32Array(tokens.length); // [B, N, C*4]
    const itemValues = n * c * 4;
    for (const chunk of chunks) {
      options.signal?.throwIfAborted();
      const img = new Tensor('float32', [chunk.count, n, c * 4], tokens.subarray(chunk.start * itemValues, (chunk.start + chunk.count) * itemValues));
      const timesteps = new Tensor('float32', [chunk.count], new Float32Array(chunk.count).fill(sigma));
      options.onRun?.();
      const out = await service.run(request, { ...chunk.inputs, img, timesteps }, ['velocity']);
      const v = out.velocity;
      if (!v) throw new Error(`${model.name}: the DiT graph gave no 'velocity' output`);
      velocity.set(v.data as Float32Array, chunk.start * itemValues);
    }
    return packing ? packing.unpack(velocity) : velocity;
  };
}

/** The per-run inputs of each chunk of `perRun` items: every constant input sliced along its batch axis (no copies). */
function chunkInputs(constant: Record<string, Tensor<'float32'>>, b: number, perRun: number): { start: number; count: number; inputs: Record<string, Tensor<'float32'>> }[] {
  const out: { start: number; count: number; inputs: Record<string, Tensor<'float32'>> }[] = [];
  for (let start = 0; start < b; start += perRun) {
    const count = Math.min(perRun, b - start);
    const inputs: Record<string, Tensor<'float32'>> = {};
    for (const [name, t] of Object.entries(constant)) {
      const per = t.data.length / b;
      inputs[name] = count === b ? t : new Tensor('float32', [count, ...t.shape.slice(1)], t.data.subarray(start * per, (start + count) * per));
    }
    out.push({ start, count, inputs });
  }
  return out;
}
