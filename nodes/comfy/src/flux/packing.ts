/**
 * FLUX latent packing and RoPE position ids. A latent [B, 16, h, w] becomes tokens [B, (h/2)(w/2), 64] of 2x2
 * patches, feature index c*4 + dy*2 + dx; odd sizes are first padded circularly to even ones (ComfyUI's
 * pad_to_patch_size). Ids are (axis0, row, col) per token, with reference images placed by ComfyUI's methods
 * (offset, index, uxo) or USO's own (d, h, w, o).
 */

import type { ReferenceLatentsMethod } from './conditioning.ts';

const PATCH = 2;

/**
 * Index tables for one latent shape: the sampler packs and unpacks the same shape every step, so the index arithmetic
 * (including the circular padding) is done once and each step is a plain gather.
 */
export class LatentPacking {
  /** For each packed value [B, N, C*4], the latent index [B, C, h, w] it comes from. */
  readonly #gather: Int32Array;
  /** For each latent value, the packed index it goes back to (padding rows/cols are dropped). */
  readonly #scatter: Int32Array;

  constructor(b: number, c: number, h: number, w: number) {
    const hp = Math.ceil(h / PATCH);
    const wp = Math.ceil(w / PATCH);
    const feat = c * PATCH * PATCH;
    this.#gather = new Int32Array(b * hp * wp * feat);
    this.#scatter = new Int32Array(b * c * h * w);
    for (let n = 0; n < b; n++) {
      for (let ti = 0; ti < hp; ti++) {
        for (let tj = 0; tj < wp; tj++) {
          const base = ((n * hp + ti) * wp + tj) * feat;
          for (let ch = 0; ch < c; ch++) {
            for (let dy = 0; dy < PATCH; dy++) {
              // Circular padding: row h wraps to row 0 (ComfyUI's pad_to_patch_size).
              const y = (ti * PATCH + dy) % h;
              for (let dx = 0; dx < PATCH; dx++) {
                const xx = (tj * PATCH + dx) % w;
                const packed = base + ch * 4 + dy * 2 + dx;
                const latent = ((n * c + ch) * h + y) * w + xx;
                this.#gather[packed] = latent;
                if (ti * PATCH + dy < h && tj * PATCH + dx < w) this.#scatter[latent] = packed;
              }
            }
          }
        }
      }
    }
  }

  /** Where a latent value (row-major [B, C, h, w] index) sits among the packed values. */
  packedIndex(latentIndex: number): number {
    return this.#scatter[latentIndex]!;
  }

  /** [B, C, h, w] -> [B, N, C*4]. */
  pack(x: Float32Array): Float32Array {
    const gather = this.#gather;
    if (x.length !== this.#scatter.length) throw new RangeError(`LatentPacking.pack: expected ${this.#scatter.length} values, got ${x.length}`);
    const out = new Float32Array(gather.length);
    for (let i = 0; i < gather.length; i++) out[i] = x[gather[i]!]!;
    return out;
  }

  /** [B, N, C*4] -> [B, C, h, w]. */
  unpack(tokens: Float32Array): Float32Array {
    const scatter = this.#scatter;
    if (tokens.length !== this.#gather.length) {
      throw new RangeError(`unpackLatent: ${tokens.length} values do not make the ${this.#gather.length} packed values expected`);
    }
    const out = new Float32Array(scatter.length);
    for (let j = 0; j < scatter.length; j++) out[j] = tokens[scatter[j]!]!;
    return out;
  }
}

/** Packs [B, C, h, w] into [B, N, C*4] with N = ceil(h/2)*ceil(w/2). */
export function packLatent(x: Float32Array, b: number, c: number, h: number, w: number): Float32Array {
  return new LatentPacking(b, c, h, w).pack(x);
}

/** Unpacks [B, N, C*4] back to [B, C, h, w], dropping padding rows/cols. */
export function unpackLatent(tokens: Float32Array, b: number, c: number, h: number, w: number): Float32Array {
  return new LatentPacking(b, c, h, w).unpack(tokens);
}

/** Token grid size of a latent side: (n + 1) // 2. */
export function tokenLength(n: number): number {
  return Math.floor((n + PATCH / 2) / PATCH);
}

/** Ids [hLen*wLen, 3] of a token grid: (index, hOffset + i, wOffset + j), offsets already in tokens. */
export function gridIds(hLen: number, wLen: number, index: number, hOffset: number, wOffset: number): Float32Array {
  const out = new Float32Array(hLen * wLen * 3);
  for (let i = 0; i < hLen; i++) {
    for (let j = 0; j < wLen; j++) {
      const k = (i * wLen + j) * 3;
      out[k] = index;
      out[k + 1] = hOffset + i;
      out[k + 2] = wOffset + j;
    }
  }
  return out;
}

/** A reference latent's size in latent pixels. */
export interface RefSize {
  readonly h: number;
  readonly w: number;
}

/**
 * Ids of each reference per ComfyUI's Flux (comfy/ldm/flux/model.py), given the target latent size:
 * - index: axis0 = 1, 2, ... per reference, no offset;
 * - uxo: axis0 0, offsets (2*hLen + h, 2*wLen + w) in latent pixels, h and w growing by each reference (diagonal);
 * - offset (default): axis0 1, each reference placed right of or below the previous ones, whichever keeps it smaller.
 * Pixel offsets become token offsets as (off + 1) // 2.
 */
export function comfyReferenceIds(target: RefSize, refs: readonly RefSize[], method: ReferenceLatentsMethod = 'offset'): Float32Array[] {
  const hLen = tokenLength(target.h);
  const wLen = tokenLength(target.w);
  let h = 0;
  let w = 0;
  let index = 0;
  return refs.map((ref) => {
    let hOff = 0;
    let wOff = 0;
    if (method === 'index') {
      index += 1;
    } else if (method === 'uxo') {
      index = 0;
      hOff = hLen * PATCH + h;
      wOff = wLen * PATCH + w;
      h += ref.h;
      w += ref.w;
    } else {
      index = 1;
      if (ref.h + h > ref.w + w) wOff = w;
      else hOff = h;
      h = Math.max(h, ref.h + hOff);
      w = Math.max(w, ref.w + wOff);
    }
    return gridIds(tokenLength(ref.h), tokenLength(ref.w), index, tokenLength(hOff), tokenLength(wOff));
  });
}

/** USO's reference placements: diagonal, rows only, columns only, none. */
export type UsoPlacement = 'd' | 'h' | 'w' | 'o';

/**
 * Ids of each reference per USO's reference code: token (i, j) of a reference gets (0, i + Hs, j + Ws), where Hs and
 * Ws start at the target's token height and width and grow by each reference's token size ('d'); 'h' offsets only
 * rows, 'w' only columns, 'o' nothing.
 */
export function usoReferenceIds(target: RefSize, refs: readonly RefSize[], placement: UsoPlacement): Float32Array[] {
  let hs = tokenLength(target.h);
  let ws = tokenLength(target.w);
  return refs.map((ref) => {
    const rh = tokenLength(ref.h);
    const rw = tokenLength(ref.w);
    const ids = gridIds(rh, rw, 0, placement === 'd' || placement === 'h' ? hs : 0, placement === 'd' || placement === 'w' ? ws : 0);
    hs += rh;
    ws += rw;
    return ids;
  });
}
