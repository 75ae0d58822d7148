/**
 * Float64 references of the demo architectures' maths (and of the real USO projector), written loop by loop from the
 * module docs, for the golden tests only: they take any weights (random ones in the golden tests) and never use
 * onnxruntime. Not exported from the package.
 */

import { DEMO_DIT_CONSTANTS } from './demo-dit.ts';

export type Weights = Readonly<Record<string, Float32Array>>;

function need(w: Weights, key: string): Float32Array {
  const v = w[key];
  if (!v) throw new Error(`reference: missing weight '${key}'`);
  return v;
}

/** Conv2d without padding. x [B, C, H, W] -> [B, O, H', W']. */
export function conv2dRef(
  x: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  w: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  O: number,
  k: number,
  stride: number,
): { data: Float64Array; shape: [number, number, number, number] } {
  const [B, C, H, W] = shape;
  const Ho = Math.floor((H - k) / stride) + 1;
  const Wo = Math.floor((W - k) / stride) + 1;
  const out = new Float64Array(B * O * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let s = bias ? bias[o]! : 0;
          for (let c = 0; c < C; c++)
            for (let u = 0; u < k; u++)
              for (let v = 0; v < k; v++) s += x[((b * C + c) * H + i * stride + u) * W + j * stride + v]! * w[((o * C + c) * k + u) * k + v]!;
          out[((b * O + o) * Ho + i) * Wo + j] = s;
        }
  return { data: out, shape: [B, O, Ho, Wo] };
}

/** torch Linear over rows: x [rows, in] -> [rows, out]. */
export function linearRef(x: ArrayLike<number>, rows: number, w: ArrayLike<number>, b: ArrayLike<number> | undefined, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = s;
    }
  return y;
}

/** Demo VAE encoder. */
export function vaeEncodeRef(w: Weights, image: ArrayLike<number>, B: number, H: number, W: number): Float64Array {
  const k = 8;
  return conv2dRef(image, [B, 3, H, W], need(w, 'encoder.conv_in.weight'), need(w, 'encoder.conv_in.bias'), 16, k, k).data;
}

/** ONNX Resize, mode linear, half_pixel, on one plane: in [h, w] -> [h*f, w*f]. */
function bilinearHalfPixel(src: ArrayLike<number>, off: number, h: number, w: number, f: number, out: Float64Array, outOff: number): void {
  const coord = (o: number, n: number) => {
    const x = Math.min(Math.max((o + 0.5) / f - 0.5, 0), n - 1);
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, n - 1);
    return [i0, i1, x - i0] as const;
  };
  for (let y = 0; y < h * f; y++) {
    const [y0, y1, ty] = coord(y, h);
    for (let x = 0; x < w * f; x++) {
      const [x0, x1, tx] = coord(x, w);
      const a = src[off + y0 * w + x0]! * (1 - tx) + src[off + y0 * w + x1]! * tx;
      const c = src[off + y1 * w + x0]! * (1 - tx) + src[off + y1 * w + x1]! * tx;
      out[outOff + y * w * f + x] = a * (1 - ty) + c * ty;
    }
  }
}

/** Demo VAE decoder. latent [B, 16, h, w] -> image [B, 3, 8h, 8w]. */
export function vaeDecodeRef(w: Weights, latent: ArrayLike<number>, B: number, h: number, wd: number): Float64Array {
  const quads = conv2dRef(latent, [B, 16, h, wd], need(w, 'decoder.conv_in.weight'), need(w, 'decoder.conv_in.bias'), 12, 1, 1).data;
  const grid = new Float64Array(B * 3 * 2 * h * 2 * wd);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < 3; c++)
      for (let q = 0; q < 4; q++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < wd; x++) {
            const v = quads[((b * 12 + c * 4 + q) * h + y) * wd + x]!;
            grid[((b * 3 + c) * 2 * h + 2 * y + (q >> 1)) * 2 * wd + 2 * x + (q & 1)] = v;
          }
  const out = new Float64Array(B * 3 * 8 * h * 8 * wd);
  for (let p = 0; p < B * 3; p++) bilinearHalfPixel(grid, p * 4 * h * wd, 2 * h, 2 * wd, 4, out, p * 64 * h * wd);
  return out;
}

/** Demo vision encoder. -> last [B, 729, width] and hidden [B, 3, 729, width] (layers -20, -11, -2). */
export function visionRef(w: Weights, px: ArrayLike<number>, B: number, layers: number): { last: Float64Array; hidden: Float64Array; width: number } {
  const S = 384;
  const stats = new Float64Array(B * 6 * S * S);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < S * S; i++) {
        const v = px[(b * 3 + c) * S * S + i]!;
        stats[(b * 6 + c) * S * S + i] = v;
        stats[(b * 6 + 3 + c) * S * S + i] = v * v;
      }
  const patches = conv2dRef(stats, [B, 6, S, S], need(w, 'vision_model.embeddings.patch_embedding.weight'), need(w, 'vision_model.embeddings.patch_embedding.bias'), 6, 14, 14).data;
  const T = 729;
  const tokens = new Float64Array(B * T * 6);
  for (let b = 0; b < B; b++) for (let c = 0; c < 6; c++) for (let t = 0; t < T; t++) tokens[(b * T + t) * 6 + c] = patches[(b * 6 + c) * T + t]!;
  const projW = need(w, 'vision_model.embeddings.feature_proj.weight');
  const width = projW.length / 6;
  let x = linearRef(tokens, B * T, projW, need(w, 'vision_model.embeddings.feature_proj.bias'), 6, width);
  const all: Float64Array[] = [];
  for (let l = 0; l < layers; l++) {
    const scale = need(w, `vision_model.encoder.layers.${l}.layer_scale`);
    x = x.map((v, i) => v * scale[i % width]!);
    all.push(x);
  }
  const picks = [layers - 20, layers - 11, layers - 2];
  const hidden = new Float64Array(B * 3 * T * width);
  for (let b = 0; b < B; b++) for (let k = 0; k < 3; k++) hidden.set(all[picks[k]!]!.subarray(b * T * width, (b + 1) * T * width), (b * 3 + k) * T * width);
  return { last: x, hidden, width };
}

/** USO projector. hidden [B, 3, T, W] (low, mid, high) -> [B, 3S, hidden] (high, mid, low). */
export function projectorRef(w: Weights, hs: ArrayLike<number>, B: number, T: number, W: number): { data: Float64Array; tokens: number; hidden: number } {
  const S = need(w, 'high_embedding_linear.0.bias').length;
  const Hd = need(w, 'high_projection.bias').length;
  const out = new Float64Array(B * 3 * S * Hd);
  const order = ['high', 'mid', 'low'];
  const inputIndex: Record<string, number> = { low: 0, mid: 1, high: 2 };
  for (let b = 0; b < B; b++) {
    order.forEach((name, slot) => {
      const base = (b * 3 + inputIndex[name]!) * T * W;
      const ew = need(w, `${name}_embedding_linear.0.weight`);
      const eb = need(w, `${name}_embedding_linear.0.bias`);
      // [W, T] @ ew^T -> [W, S], SiLU, then per style token s a row over W.
      const rows = new Float64Array(S * W);
      for (let c = 0; c < W; c++)
        for (let s = 0; s < S; s++) {
          let acc = eb[s]!;
          for (let t = 0; t < T; t++) acc += hs[base + t * W + c]! * ew[s * T + t]!;
          rows[s * W + c] = acc / (1 + Math.exp(-acc));
        }
      const lnW = w[`${name}_layer_norm.weight`];
      const lnB = w[`${name}_layer_norm.bias`];
      if (lnW) {
        for (let s = 0; s < S; s++) {
          let m = 0;
          for (let c = 0; c < W; c++) m += rows[s * W + c]!;
          m /= W;
          let v = 0;
          for (let c = 0; c < W; c++) v += (rows[s * W + c]! - m) ** 2;
          v /= W;
          for (let c = 0; c < W; c++) rows[s * W + c] = ((rows[s * W + c]! - m) / Math.sqrt(v + 1e-5)) * lnW[c]! + (lnB ? lnB[c]! : 0);
        }
      }
      const y = linearRef(rows, S, need(w, `${name}_projection.weight`), need(w, `${name}_projection.bias`), W, Hd);
      out.set(y, (b * 3 + slot) * S * Hd);
    });
  }
  return { data: out, tokens: 3 * S, hidden: Hd };
}

/** Demo T5: embedding rows. */
export function t5Ref(w: Weights, ids: readonly number[], width: number): Float64Array {
  const emb = need(w, 'shared.weight');
  const out = new Float64Array(ids.length * width);
  ids.forEach((id, i) => {
    for (let c = 0; c < width; c++) out[i * width + c] = emb[id * width + c]!;
  });
  return out;
}

/** Demo CLIP: mean of the embeddings of tokens whose last feature is set. ids [B, 77] -> [B, width]. */
export function clipRef(w: Weights, ids: readonly number[], B: number, width: number): Float64Array {
  const emb = need(w, 'text_model.embeddings.token_embedding.weight');
  const out = new Float64Array(B * width);
  for (let b = 0; b < B; b++) {
    const sum = new Float64Array(width);
    for (let t = 0; t < 77; t++) for (let c = 0; c < width; c++) sum[c]! += emb[ids[b * 77 + t]! * width + c]!;
    const count = Math.max(sum[width - 1]!, 1);
    for (let c = 0; c < width; c++) out[b * width + c] = sum[c]! / count;
  }
  return out;
}

export interface DitInputs {
  readonly B: number;
  readonly N: number;
  readonly R: number;
  readonly L: number;
  readonly S: number;
  readonly ctx: number;
  readonly hidden: number;
  readonly vec: number;
  readonly img: ArrayLike<number>;
  readonly imgIds: ArrayLike<number>;
  readonly ref: ArrayLike<number>;
  readonly refIds: ArrayLike<number>;
  readonly txt: ArrayLike<number>;
  readonly style: ArrayLike<number>;
  readonly timesteps: ArrayLike<number>;
  readonly guidance: ArrayLike<number>;
  readonly y: ArrayLike<number>;
}

/** Normalised (row, col) per token over the tokens' own extent. */
function positions(ids: ArrayLike<number>, b: number, M: number): { pos: Float64Array; extent: number; extents: number[] } {
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  for (let m = 0; m < M; m++)
    for (let a = 0; a < 2; a++) {
      const v = ids[(b * M + m) * 3 + 1 + a]!;
      lo[a] = Math.min(lo[a]!, v);
      hi[a] = Math.max(hi[a]!, v);
    }
  const ext = [0, 1].map((a) => Math.max(hi[a]! - lo[a]! + 1, 1));
  const pos = new Float64Array(M * 2);
  for (let m = 0; m < M; m++) for (let a = 0; a < 2; a++) pos[m * 2 + a] = (ids[(b * M + m) * 3 + 1 + a]! - lo[a]! + 0.5) / ext[a]!;
  return { pos, extent: Math.max(ext[0]!, ext[1]!), extents: ext };
}

/** Min and extent of rows/cols over all batch items of ids [B, M, 3]. */
function batchGrid(ids: ArrayLike<number>, B: number, M: number): { lo: number[]; size: number[] } {
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  for (let i = 0; i < B * M; i++)
    for (let a = 0; a < 2; a++) {
      lo[a] = Math.min(lo[a]!, ids[i * 3 + 1 + a]!);
      hi[a] = Math.max(hi[a]!, ids[i * 3 + 1 + a]!);
    }
  return { lo, size: [0, 1].map((a) => 4 * Math.max(hi[a]! - lo[a]! + 1, 1)) };
}

/** Softmax rows of -((i + .5)/to - (j + .5)/from)^2 * 2 min(to, from)^2. */
function resampleWeightsRef(to: number, from: number): Float64Array {
  const w = new Float64Array(to * from);
  const inv = 2 * Math.min(to, from) ** 2;
  for (let i = 0; i < to; i++) {
    let z = 0;
    for (let j = 0; j < from; j++) z += w[i * from + j] = Math.exp(-(((i + 0.5) / to - (j + 0.5) / from) ** 2) * inv);
    for (let j = 0; j < from; j++) w[i * from + j]! /= z;
  }
  return w;
}

/** Sub-cell (row, col) of feature group index k = q*4 + s. */
function subCell(k: number): [number, number] {
  const q = k >> 2;
  const s = k & 3;
  return [2 * (s >> 1) + (q >> 1), 2 * (s & 1) + (q & 1)];
}

/** The references resampled onto batch item b's target tokens, sub-cell by sub-cell. -> [N * 64]. */
function resampleRef(x: DitInputs, b: number): Float64Array {
  const { B, N, R } = x;
  const src = batchGrid(x.refIds, B, R);
  const dst = batchGrid(x.imgIds, B, N);
  const [Hc, Wc] = src.size as [number, number];
  const [Ht, Wt] = dst.size as [number, number];
  const canvas = new Float64Array(5 * Hc * Wc); // [5, Hc, Wc]
  for (let r = 0; r < R; r++) {
    const row = 4 * (x.refIds[(b * R + r) * 3 + 1]! - src.lo[0]!);
    const col = 4 * (x.refIds[(b * R + r) * 3 + 2]! - src.lo[1]!);
    for (let k = 0; k < 16; k++) {
      const [u, v] = subCell(k);
      const at = (row + u) * Wc + col + v;
      for (let grp = 0; grp < 4; grp++) canvas[grp * Hc * Wc + at]! += x.ref[(b * R + r) * 64 + grp * 16 + k]!;
      canvas[4 * Hc * Wc + at]! += 1;
    }
  }
  const wr = resampleWeightsRef(Ht, Hc);
  const wc = resampleWeightsRef(Wt, Wc);
  const sample = (ch: number, i: number, j: number) => {
    let s = 0;
    for (let y = 0; y < Hc; y++) {
      const a = wr[i * Hc + y]!;
      if (a === 0) continue;
      for (let xx = 0; xx < Wc; xx++) s += a * canvas[ch * Hc * Wc + y * Wc + xx]! * wc[j * Wc + xx]!;
    }
    return s;
  };
  const out = new Float64Array(N * 64);
  for (let n = 0; n < N; n++) {
    const row = 4 * (x.imgIds[(b * N + n) * 3 + 1]! - dst.lo[0]!);
    const col = 4 * (x.imgIds[(b * N + n) * 3 + 2]! - dst.lo[1]!);
    for (let k = 0; k < 16; k++) {
      const [u, v] = subCell(k);
      const count = Math.max(sample(4, row + u, col + v), 1e-6);
      for (let grp = 0; grp < 4; grp++) out[n * 64 + grp * 16 + k] = sample(grp, row + u, col + v) / count;
    }
  }
  return out;
}

/** The structure B and the clean target T of the demo DiT for batch item b (exposed for behaviour tests). */
export function ditTargetRef(w: Weights, x: DitInputs, b: number): { structure: Float64Array; target: Float64Array } {
  const K = DEMO_DIT_CONSTANTS;
  const { N, R, L, S, ctx, hidden, vec } = x;
  const tp = positions(x.imgIds, b, N);
  const structure = new Float64Array(N * 64);
  if (R > 0) {
    structure.set(resampleRef(x, b));
  } else {
    const sum = new Float64Array(ctx);
    for (let l = 0; l < L; l++) for (let c = 0; c < ctx; c++) sum[c]! += x.txt[(b * L + l) * ctx + c]!;
    const count = Math.max(sum[ctx - 1]!, 1);
    const mean = sum.map((v) => v / count);
    const P = need(w, 'txt_in.bias').length;
    const waves = (P - 3) / 5;
    const params = linearRef(mean, 1, need(w, 'txt_in.weight'), need(w, 'txt_in.bias'), ctx, P);
    const yRow = Array.from({ length: vec }, (_, i) => x.y[b * vec + i]!);
    const phase = linearRef(yRow, 1, need(w, 'vector_in.weight'), undefined, vec, waves);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < 16; k++) {
        // Sub-cell k = q*4 + s: quadrant q of latent pixel s, sub-row 2dy + qy, sub-col 2dx + qx of the token's 4x4.
        const q = k >> 2;
        const sp = k & 3;
        const pr = tp.pos[n * 2]! + ((2 * (sp >> 1) + (q >> 1) + 0.5) / 4 - 0.5) / tp.extents[0]!;
        const pc = tp.pos[n * 2 + 1]! + ((2 * (sp & 1) + (q & 1) + 0.5) / 4 - 0.5) / tp.extents[1]!;
        for (let c = 0; c < 3; c++) {
          let v = params[c]!;
          for (let wv = 0; wv < waves; wv++) {
            const turns = params[3 + 2 * wv]! * pr + params[3 + 2 * wv + 1]! * pc;
            v += params[3 + 2 * waves + 3 * wv + c]! * Math.cos(2 * Math.PI * turns + phase[wv]!);
          }
          structure[n * 64 + c * 16 + k] = (v - K.latentShift) * K.latentScale;
        }
      }
      for (let f = 48; f < 64; f++) structure[n * 64 + f] = -K.latentShift * K.latentScale;
    }
  }
  const target = Float64Array.from(structure);
  if (S > 0) {
    const eC = [0, 0, 0];
    const eC2 = [0, 0, 0];
    for (let s = 0; s < S; s++)
      for (let c = 0; c < 3; c++) {
        eC[c]! += x.style[(b * S + s) * hidden + c]! / S;
        eC2[c]! += x.style[(b * S + s) * hidden + 3 + c]! / S;
      }
    const contrast = (x.guidance[b]! / K.guidanceReference) ** K.contrastExponent;
    const delta = new Float64Array(N * 64);
    for (let c = 0; c < 3; c++) {
      let mu = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < 16; s++) mu += structure[n * 64 + c * 16 + s]!;
      mu /= N * 16;
      let v = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < 16; s++) v += (structure[n * 64 + c * 16 + s]! - mu) ** 2;
      const sigmaB = Math.sqrt(v / (N * 16) + K.varianceEps);
      const sigmaS = Math.sqrt(Math.max(eC2[c]! - eC[c]! ** 2, 0)) * K.latentScale * contrast;
      const muS = (eC[c]! - K.latentShift) * K.latentScale;
      for (let n = 0; n < N; n++)
        for (let s = 0; s < 16; s++) {
          const f = n * 64 + c * 16 + s;
          delta[f] = ((structure[f]! - mu) / sigmaB) * sigmaS + muS - structure[f]!;
        }
    }
    const gated = linearRef(delta, N, need(w, 'double_blocks.0.img_attn.proj.weight'), need(w, 'double_blocks.0.img_attn.proj.bias'), 64, 64);
    for (let i = 0; i < N * 64; i++) target[i]! += gated[i]!;
  } else {
    // The gate's bias is applied even without style, as the graph's Linear does.
    const bias = need(w, 'double_blocks.0.img_attn.proj.bias');
    for (let i = 0; i < N * 64; i++) target[i]! += bias[i % 64]!;
  }
  return { structure, target };
}

/** The demo DiT's velocity [B, N, 64]. */
export function ditRef(w: Weights, x: DitInputs): Float64Array {
  const K = DEMO_DIT_CONSTANTS;
  const out = new Float64Array(x.B * x.N * 64);
  for (let b = 0; b < x.B; b++) {
    const { target } = ditTargetRef(w, x, b);
    const sigma = x.timesteps[b]!;
    const safe = Math.max(sigma, K.sigmaFloor);
    for (let i = 0; i < x.N * 64; i++) {
      const xi = x.img[b * x.N * 64 + i]!;
      const eps = (xi - (1 - sigma) * target[i]!) / safe;
      const x0 = target[i]! + K.grain * Math.tanh(eps);
      out[b * x.N * 64 + i] = (xi - x0) / safe;
    }
  }
  return out;
}
