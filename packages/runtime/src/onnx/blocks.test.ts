/**
 * Golden tests for the shared blocks: a tiny FLUX-style transformer block and a tiny VAE-style conv block, with
 * random weights seeded by tensor name, written to safetensors (F32 and BF16), referenced as external data, run in
 * onnxruntime and compared against plain float64 TypeScript references.
 */

import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from './graph-builder.ts';
import { safetensorsWeights } from './weights.ts';
import {
  activation,
  applyRope,
  attention,
  conv2d,
  groupNorm,
  layerNorm,
  linear,
  mlp,
  modulate,
  modulation,
  rmsNorm,
  ropeTables,
  splitQkv,
  timestepEmbedding,
  upsampleNearest,
} from './blocks.ts';
import { writeSafetensors } from '../safetensors/writer.ts';
import { readSafetensorsHeader } from '../safetensors/header.ts';
import { randomCheckpoint, randomWeight, type RandomWeightDType } from '../models/random-weights.ts';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const root = mkdtempSync(join(tmpdir(), 'blocks-golden-'));

function normalisedError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

// ------------------------------------------------------------------ float64 reference helpers

type W = Record<string, Float32Array>;

/** rows x [in] -> rows x [out] with torch Linear weight [out, in]. */
function linearRef(x: Float64Array, rows: number, w: Float32Array, b: Float32Array | undefined, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = s;
    }
  }
  return y;
}

function layerNormRef(x: Float64Array, rows: number, c: number, eps: number, w?: Float32Array, b?: Float32Array): Float64Array {
  const y = new Float64Array(rows * c);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = 0; i < c; i++) m += x[r * c + i]!;
    m /= c;
    let v = 0;
    for (let i = 0; i < c; i++) v += (x[r * c + i]! - m) ** 2;
    v /= c;
    for (let i = 0; i < c; i++) y[r * c + i] = ((x[r * c + i]! - m) / Math.sqrt(v + eps)) * (w ? w[i]! : 1) + (b ? b[i]! : 0);
  }
  return y;
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

// ------------------------------------------------------------------ tiny transformer block

const B = 2;
const L = 6;
const C = 16;
const H = 2;
const D = 8;
const HIDDEN = 32;
const TDIM = 8;
const AXES = [2, 2, 4];
const THETA = 10000;

const blockSpecs = {
  'time_in.in_layer.weight': { shape: [C, TDIM], std: 0.3 },
  'time_in.in_layer.bias': { shape: [C], std: 0.1 },
  'time_in.out_layer.weight': { shape: [C, C], std: 0.3 },
  'time_in.out_layer.bias': { shape: [C], std: 0.1 },
  'block.mod.lin.weight': { shape: [6 * C, C], std: 0.2 },
  'block.mod.lin.bias': { shape: [6 * C], std: 0.1 },
  'block.norm1.weight': { shape: [C], mean: 1, std: 0.1 },
  'block.norm1.bias': { shape: [C], std: 0.1 },
  'block.attn.qkv.weight': { shape: [3 * C, C], std: 0.3 },
  'block.attn.qkv.bias': { shape: [3 * C], std: 0.1 },
  'block.attn.norm.query_norm.scale': { shape: [D], mean: 1, std: 0.1 },
  'block.attn.norm.key_norm.scale': { shape: [D], mean: 1, std: 0.1 },
  'block.attn.proj.weight': { shape: [C, C], std: 0.3 },
  'block.attn.proj.bias': { shape: [C], std: 0.1 },
  'block.mlp.0.weight': { shape: [HIDDEN, C], std: 0.3 },
  'block.mlp.0.bias': { shape: [HIDDEN], std: 0.1 },
  'block.mlp.2.weight': { shape: [C, HIDDEN], std: 0.3 },
  'block.mlp.2.bias': { shape: [C], std: 0.1 },
} as const;

function buildBlockGraph(file: string): GraphBuilder {
  const g = new GraphBuilder({ name: 'tiny_block', weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const x = g.input('x', 'float32', ['B', 'L', C]);
  const ids = g.input('ids', 'float32', ['B', 'L', 3]);
  const t = g.input('t', 'float32', ['B']);
  const mask = g.input('mask', 'float32', ['B', 1, 1, 'L']);

  const temb = timestepEmbedding(g, t, 'time_in.embed', { dim: TDIM }); // [B, TDIM]
  const vec = linear(g, g.silu(linear(g, temb, 'time_in.in_layer'), 'time_in.silu'), 'time_in.out_layer'); // [B, C]
  const [mod1, mod2] = modulation(g, vec, 'block.mod', 2);

  const h = modulate(g, layerNorm(g, x, 'block.norm1', { dim: C, eps: 1e-6, affine: true }), mod1!, 'block.mod1'); // [B, L, C]
  const [q0, k0, v] = splitQkv(g, linear(g, h, 'block.attn.qkv'), 'block.attn.qkv', H); // [B, H, L, D]
  const q1 = rmsNorm(g, q0, 'block.attn.norm.query_norm', { weightKey: 'block.attn.norm.query_norm.scale', eps: 1e-6 });
  const k1 = rmsNorm(g, k0, 'block.attn.norm.key_norm', { weightKey: 'block.attn.norm.key_norm.scale', eps: 1e-6 });
  const pe = ropeTables(g, ids, 'pe', { axesDim: AXES, theta: THETA, batched: true });
  const q = applyRope(g, q1, pe, 'block.attn.rope_q');
  const k = applyRope(g, k1, pe, 'block.attn.rope_k');
  const a = attention(g, q, k, v, 'block.attn.sdpa', { headDim: D, mask }); // [B, L, C]
  const attnOut = linear(g, a, 'block.attn.proj');
  const x1 = g.add(x, g.mul(mod1!.gate, attnOut, 'block.attn_gated'), 'block.attn_residual'); // [B, L, C]

  const h2 = modulate(g, layerNorm(g, x1, 'block.norm2', { dim: C, eps: 1e-6, affine: false }), mod2!, 'block.mod2');
  const m = mlp(g, h2, 'block.mlp.0', 'block.mlp.2', 'gelu-tanh'); // [B, L, C]
  const x2 = g.add(x1, g.mul(mod2!.gate, m, 'block.mlp_gated'), 'block.out'); // [B, L, C]
  g.output(x2, 'y', 'float32', ['B', 'L', C]);
  return g;
}

function blockReference(w: W, x: Float32Array, ids: Float32Array, t: Float32Array, mask: Float32Array): Float64Array {
  const get = (k: keyof typeof blockSpecs) => w[k]!;
  // timestep embedding -> vec [B, C]
  const half = TDIM / 2;
  const temb = new Float64Array(B * TDIM);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < half; j++) {
      const arg = t[b]! * 1000 * Math.exp((-Math.log(10000) * j) / half);
      temb[b * TDIM + j] = Math.cos(arg);
      temb[b * TDIM + half + j] = Math.sin(arg);
    }
  }
  const v1 = linearRef(temb, B, get('time_in.in_layer.weight'), get('time_in.in_layer.bias'), TDIM, C).map(silu);
  const vec = linearRef(v1, B, get('time_in.out_layer.weight'), get('time_in.out_layer.bias'), C, C);
  const mod = linearRef(vec.map(silu), B, get('block.mod.lin.weight'), get('block.mod.lin.bias'), C, 6 * C); // [B, 6C]
  const modAt = (b: number, which: number, c: number) => mod[b * 6 * C + which * C + c]!;

  const xs = Float64Array.from(x);
  const n1 = layerNormRef(xs, B * L, C, 1e-6, get('block.norm1.weight'), get('block.norm1.bias'));
  for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) {
    const i = (b * L + l) * C + c;
    n1[i] = (1 + modAt(b, 1, c)) * n1[i]! + modAt(b, 0, c);
  }
  const qkv = linearRef(n1, B * L, get('block.attn.qkv.weight'), get('block.attn.qkv.bias'), C, 3 * C); // [B, L, 3C]
  // angles [B, L, D/2]
  const angle = (b: number, l: number, j: number) => {
    let axisStart = 0;
    for (let axis = 0; axis < AXES.length; axis++) {
      const d = AXES[axis]!;
      if (j < axisStart + d / 2) {
        const jj = j - axisStart;
        return ids[(b * L + l) * 3 + axis]! / THETA ** ((2 * jj) / d);
      }
      axisStart += d / 2;
    }
    throw new Error('bad rope index');
  };
  // q/k/v [B, H, L, D] with RMS norm and rope on q and k
  const head = (which: number, b: number, h: number, l: number): Float64Array => {
    const out = new Float64Array(D);
    for (let d = 0; d < D; d++) out[d] = qkv[(b * L + l) * 3 * C + which * C + h * D + d]!;
    if (which === 2) return out;
    const scale = which === 0 ? get('block.attn.norm.query_norm.scale') : get('block.attn.norm.key_norm.scale');
    let ms = 0;
    for (let d = 0; d < D; d++) ms += out[d]! ** 2;
    const rms = Math.sqrt(ms / D + 1e-6);
    for (let d = 0; d < D; d++) out[d] = (out[d]! / rms) * scale[d]!;
    const rot = new Float64Array(D);
    for (let j = 0; j < D / 2; j++) {
      const a = angle(b, l, j);
      const x0 = out[2 * j]!;
      const x1 = out[2 * j + 1]!;
      rot[2 * j] = Math.cos(a) * x0 - Math.sin(a) * x1;
      rot[2 * j + 1] = Math.sin(a) * x0 + Math.cos(a) * x1;
    }
    return rot;
  };
  const attn = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const ks = Array.from({ length: L }, (_, l) => head(1, b, h, l));
    const vs = Array.from({ length: L }, (_, l) => head(2, b, h, l));
    for (let lq = 0; lq < L; lq++) {
      const q = head(0, b, h, lq);
      const scores = ks.map((k, lk) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[d]! * k[d]!;
        return s / Math.sqrt(D) + mask[b * L + lk]!;
      });
      const mx = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - mx));
      const sum = e.reduce((p, c) => p + c, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let lk = 0; lk < L; lk++) acc += (e[lk]! / sum) * vs[lk]![d]!;
        attn[(b * L + lq) * C + h * D + d] = acc;
      }
    }
  }
  const proj = linearRef(attn, B * L, get('block.attn.proj.weight'), get('block.attn.proj.bias'), C, C);
  const x1 = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) {
    const i = (b * L + l) * C + c;
    x1[i] = xs[i]! + modAt(b, 2, c) * proj[i]!;
  }
  const n2 = layerNormRef(x1, B * L, C, 1e-6);
  for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) {
    const i = (b * L + l) * C + c;
    n2[i] = (1 + modAt(b, 4, c)) * n2[i]! + modAt(b, 3, c);
  }
  const hid = linearRef(n2, B * L, get('block.mlp.0.weight'), get('block.mlp.0.bias'), C, HIDDEN).map(geluTanh);
  const m = linearRef(hid, B * L, get('block.mlp.2.weight'), get('block.mlp.2.bias'), HIDDEN, C);
  const out = new Float64Array(B * L * C);
  for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) {
    const i = (b * L + l) * C + c;
    out[i] = x1[i]! + modAt(b, 5, c) * m[i]!;
  }
  return out;
}

describe('golden: tiny transformer block (attention + MLP + norms + RoPE + modulation)', () => {
  const x = randomWeight('input.x', [B, L, C]);
  const ids = Float32Array.from({ length: B * L * 3 }, (_, i) => [0, Math.floor(i / 3) % 3, (i * 7) % 5][i % 3]!);
  const t = new Float32Array([0.25, 0.8]);
  const mask = new Float32Array(B * L); // second batch item masks its last two keys
  mask[L + L - 1] = -1e9;
  mask[L + L - 2] = -1e9;

  for (const dtype of ['F32', 'BF16'] as RandomWeightDType[]) {
    it(`matches the float64 reference with ${dtype} weights as external data`, async () => {
      const { tensors, values } = randomCheckpoint(blockSpecs, dtype);
      const file = join(root, `block-${dtype}.safetensors`);
      writeSafetensors(file, tensors);
      const g = buildBlockGraph(file);
      const built = g.save(join(root, 'cache', `block-${dtype}.onnx`)); // elsewhere: loaded via externalDataDir
      expect(built.externalDataDir).toBe(root);
      const s = await pool.acquire({ path: built.path, externalDataDir: built.externalDataDir }, { disablePrepacking: true });
      const { y } = await pool.run(s, {
        x: Tensor.float32([B, L, C], x),
        ids: Tensor.float32([B, L, 3], ids),
        t: Tensor.float32([B], t),
        mask: Tensor.float32([B, 1, 1, L], mask),
      });
      expect(y!.shape).toEqual([B, L, C]);
      const reference = blockReference(values, x, ids, t, mask);
      const err = normalisedError(y!.data as Float32Array, reference);
      expect(err).toBeLessThan(1e-5);
      // The reference is sensitive to the mask: a wrong mask would not pass.
      expect(normalisedError(y!.data as Float32Array, blockReference(values, x, ids, t, new Float32Array(B * L)))).toBeGreaterThan(1e-3);
    });
  }

  it('names intermediates after the checkpoint modules, identically on every build', () => {
    const { tensors } = randomCheckpoint(blockSpecs, 'F32');
    const file = join(root, 'names.safetensors');
    writeSafetensors(file, tensors);
    const names = buildBlockGraph(file).nodeNames();
    for (const n of ['block.attn.qkv', 'block.attn.sdpa.softmax', 'block.attn.norm.query_norm', 'block.mod.lin', 'block.mlp.0.act', 'time_in.embed', 'block.attn.rope_q']) {
      expect(names).toContain(n);
    }
    expect(buildBlockGraph(file).nodeNames()).toEqual(names);
    expect(Buffer.from(buildBlockGraph(file).build().bytes).equals(Buffer.from(buildBlockGraph(file).build().bytes))).toBe(true);
  });
});

// ------------------------------------------------------------------ tiny conv block

describe('golden: tiny conv block (group norm, SiLU, conv2d, nearest upsample, quick-GELU)', () => {
  const CI = 4;
  const CO = 6;
  const S = 4;
  const specs = {
    'enc.norm.weight': { shape: [CI], mean: 1, std: 0.1 },
    'enc.norm.bias': { shape: [CI], std: 0.1 },
    'enc.conv.weight': { shape: [CO, CI, 3, 3], std: 0.2 },
    'enc.conv.bias': { shape: [CO], std: 0.1 },
    'enc.down.weight': { shape: [CO, CO, 2, 2], std: 0.2 },
  };

  function conv2dRef(x: Float64Array, ci: number, hw: number, w: Float32Array, b: Float32Array | undefined, co: number, k: number, stride: number, pad: number): [Float64Array, number] {
    const out = Math.floor((hw + 2 * pad - k) / stride) + 1;
    const y = new Float64Array(co * out * out);
    for (let o = 0; o < co; o++) for (let oy = 0; oy < out; oy++) for (let ox = 0; ox < out; ox++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < ci; i++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
        const iy = oy * stride + ky - pad;
        const ix = ox * stride + kx - pad;
        if (iy < 0 || ix < 0 || iy >= hw || ix >= hw) continue;
        s += x[(i * hw + iy) * hw + ix]! * w[((o * ci + i) * k + ky) * k + kx]!;
      }
      y[(o * out + oy) * out + ox] = s;
    }
    return [y, out];
  }

  it('matches the float64 reference with F32 weights', async () => {
    const { tensors, values: w } = randomCheckpoint(specs, 'F32');
    const file = join(root, 'conv.safetensors');
    writeSafetensors(file, tensors);
    const g = new GraphBuilder({ name: 'tiny_conv', weights: safetensorsWeights(readSafetensorsHeader(file)) });
    const x = g.input('x', 'float32', [1, CI, S, S]);
    let h = groupNorm(g, x, 'enc.norm', { groups: 2, eps: 1e-6 }); // [1, CI, S, S]
    h = activation(g, h, 'silu', 'enc.act');
    h = conv2d(g, h, 'enc.conv', { padding: 1 }); // [1, CO, S, S]
    h = upsampleNearest(g, h, 'enc.up'); // [1, CO, 2S, 2S]
    h = conv2d(g, h, 'enc.down', { stride: 2 }); // [1, CO, S, S], no bias
    h = activation(g, h, 'quick-gelu', 'enc.out');
    g.output(h, 'y', 'float32', [1, CO, S, S]);
    const built = g.save(join(root, 'conv.onnx'));
    const input = randomWeight('conv.x', [1, CI, S, S]);
    const { y } = await pool.run(await pool.acquire(built.path), { x: Tensor.float32([1, CI, S, S], input) });

    // reference
    const xs = Float64Array.from(input);
    const gn = new Float64Array(xs.length);
    const per = (CI / 2) * S * S;
    for (let grp = 0; grp < 2; grp++) {
      let m = 0;
      for (let i = 0; i < per; i++) m += xs[grp * per + i]!;
      m /= per;
      let v = 0;
      for (let i = 0; i < per; i++) v += (xs[grp * per + i]! - m) ** 2;
      v /= per;
      for (let i = 0; i < per; i++) {
        const c = Math.floor((grp * per + i) / (S * S));
        gn[grp * per + i] = ((xs[grp * per + i]! - m) / Math.sqrt(v + 1e-6)) * w['enc.norm.weight']![c]! + w['enc.norm.bias']![c]!;
      }
    }
    const [c1] = conv2dRef(gn.map(silu), CI, S, w['enc.conv.weight']!, w['enc.conv.bias'], CO, 3, 1, 1);
    const up = new Float64Array(CO * 4 * S * S);
    for (let c = 0; c < CO; c++) for (let yy = 0; yy < 2 * S; yy++) for (let xx = 0; xx < 2 * S; xx++) {
      up[(c * 2 * S + yy) * 2 * S + xx] = c1[(c * S + (yy >> 1)) * S + (xx >> 1)]!;
    }
    const [c2] = conv2dRef(up, CO, 2 * S, w['enc.down.weight']!, undefined, CO, 2, 2, 0);
    const reference = c2.map((v) => v / (1 + Math.exp(-1.702 * v)));
    expect(normalisedError(y!.data as Float32Array, reference)).toBeLessThan(1e-5);
  });
});
