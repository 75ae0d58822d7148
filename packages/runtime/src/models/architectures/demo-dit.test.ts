import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { randomCheckpoint } from '../random-weights.ts';
import { CONTRACTS, checkContract } from '../contract.ts';
import type { LoadedModelGraph } from '../loader.ts';
import { modelSamplingFlux, simpleScheduler } from '../../schedule/schedulers.ts';
import { demoMetadata } from '../demo/generate.ts';
import { DEMO_T5_TOKENIZER, demoVocabulary } from '../demo/tokenizer.ts';
import { demoClipTensors, demoDitTensors, demoLoraTensors, demoProjectorTensors, demoT5Tensors, demoVaeTensors, demoVisionTensors } from '../demo/weights.ts';
import { demoStyleImageA, demoStyleImageB, demoSubjectImage } from '../demo/images.ts';
import { ditRef, ditTargetRef, type DitInputs } from './demo-reference.ts';
import { DEMO_DIT_CONSTANTS } from './demo-dit.ts';
import { normalisedError, runGraph, seededNormal, tempDir, valuesOf, withPrefix, writeAndLoad, type TensorMap } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('demo-dit');
const { latentShift: SHIFT, latentScale: SCALE } = DEMO_DIT_CONSTANTS;

/** ids (0, row + dr, col + dc) of an h x w token grid, flattened [h*w*3]. */
function gridIds(h: number, w: number, dr = 0, dc = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out.push(0, i + dr, j + dc);
  return out;
}

function feeds(x: DitInputs, txtIds = true): Record<string, Tensor> {
  const f = (shape: number[], data: ArrayLike<number>) => Tensor.float32(shape, Float32Array.from(data));
  return {
    img: f([x.B, x.N, 64], x.img),
    img_ids: f([x.B, x.N, 3], x.imgIds),
    ref_img: f([x.B, x.R, 64], x.ref),
    ref_img_ids: f([x.B, x.R, 3], x.refIds),
    txt: f([x.B, x.L, x.ctx], x.txt),
    ...(txtIds ? { txt_ids: f([x.B, x.L, 3], new Float32Array(x.B * x.L * 3)) } : {}),
    style: f([x.B, x.S, x.hidden], x.style),
    timesteps: f([x.B], x.timesteps),
    guidance: f([x.B], x.guidance),
    y: f([x.B, x.vec], x.y),
  };
}

describe('demo DiT: golden (random weights)', () => {
  const { tensors } = randomCheckpoint({
    'model.diffusion_model.txt_in.weight': { shape: [18, 16], std: 0.5 },
    'model.diffusion_model.txt_in.bias': { shape: [18], std: 0.5 },
    'model.diffusion_model.vector_in.weight': { shape: [3, 8], std: 1 },
    'model.diffusion_model.double_blocks.0.img_attn.proj.weight': { shape: [64, 64], std: 0.2 },
    'model.diffusion_model.double_blocks.0.img_attn.proj.bias': { shape: [64], std: 0.05 },
  });
  const w = Object.fromEntries(Object.entries(valuesOf(tensors)).map(([k, v]) => [k.slice('model.diffusion_model.'.length), v]));
  let graph: LoadedModelGraph;
  beforeAll(async () => {
    graph = await writeAndLoad(dir, 'random-dit', tensors, demoMetadata('uso-demo-flux-checkpoint'), 'dit');
  });

  const B = 2;
  const N = 4 * 6;
  const L = 7;
  const make = (R: number, S: number): DitInputs => {
    const style = seededNormal(`style-${S}`, B * S * 10, 0.4);
    for (let s = 0; s < B * S; s++) for (let c = 0; c < 3; c++) style[s * 10 + 3 + c] = style[s * 10 + c]! ** 2 + 0.1 + 0.05 * c;
    const txt = seededNormal('txt', B * L * 16);
    for (let l = 0; l < B * L; l++) txt[l * 16 + 15] = l % L < 4 ? 1 : 0;
    return {
      B, N, R, L, S, ctx: 16, hidden: 10, vec: 8,
      img: seededNormal('img', B * N * 64),
      imgIds: [...gridIds(4, 6), ...gridIds(4, 6)],
      ref: seededNormal('ref', B * R * 64, 0.3),
      refIds: R === 0 ? [] : [...gridIds(3, 4, 5, 7), ...gridIds(3, 4, 5, 7)],
      txt,
      style,
      timesteps: [0.7, 0.05],
      guidance: [3.5, 2],
      y: seededNormal('y', B * 8),
    };
  };

  it('is detected as uso-demo-dit under the checkpoint prefix and honours the DiT contract', () => {
    expect(graph.architecture).toBe('uso-demo-dit');
    expect(graph.keyPrefix).toBe('model.diffusion_model.');
    expect(graph.config).toEqual({ ctx: 16, vec: 8, waves: 3, depth: 1 });
    checkContract(readFileSync(graph.path), CONTRACTS.dit, 'dit');
  });

  for (const [R, S] of [[12, 6], [0, 6], [12, 0], [0, 0]] as const) {
    it(`matches the float64 reference with R = ${R}, S = ${S}`, async () => {
      const x = make(R, S);
      const { velocity } = await runGraph(pool, graph, feeds(x));
      expect(velocity!.shape).toEqual([B, N, 64]);
      const v = velocity!.data as Float32Array;
      expect(v.every(Number.isFinite)).toBe(true);
      expect(normalisedError(v, ditRef(w, x))).toBeLessThan(1e-4);
    });
  }

  it('matches the reference with two references placed diagonally (holes between them)', async () => {
    const two = [...gridIds(2, 2, 4, 6), ...gridIds(2, 3, 6, 8)];
    const x = { ...make(10, 6), refIds: [...two, ...two] };
    const { velocity } = await runGraph(pool, graph, feeds(x));
    const v = velocity!.data as Float32Array;
    expect(v.every(Number.isFinite)).toBe(true);
    expect(normalisedError(v, ditRef(w, x))).toBeLessThan(1e-4);
  });
});

/** Packs a latent [16, h, w] into tokens [(h/2)(w/2), 64], feature = ch*4 + dy*2 + dx. */
function pack(z: ArrayLike<number>, h: number, w: number): Float32Array {
  const out = new Float32Array((h / 2) * (w / 2) * 64);
  for (let i = 0; i < h / 2; i++)
    for (let j = 0; j < w / 2; j++)
      for (let ch = 0; ch < 16; ch++)
        for (let dy = 0; dy < 2; dy++)
          for (let dx = 0; dx < 2; dx++) out[(i * (w / 2) + j) * 64 + ch * 4 + dy * 2 + dx] = z[(ch * h + 2 * i + dy) * w + 2 * j + dx]!;
  return out;
}

/** RGB8 image -> CHW in -1..1 at `size` by box averaging. */
function toChw(img: { width: number; height: number; rgb: Uint8Array }, size: number): Float32Array {
  const out = new Float32Array(3 * size * size);
  const f = img.width / size;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let u = 0; u < f; u++) for (let v = 0; v < f; v++) s += img.rgb[((y * f + u) * img.width + x * f + v) * 3 + c]!;
        out[(c * size + y) * size + x] = (s / (f * f)) / 127.5 - 1;
      }
  return out;
}

/** Per-colour mean and std over the colour features of tokens [N, 64]. */
function colourStats(t: ArrayLike<number>, N: number): { mean: number[]; std: number[] } {
  const mean = [0, 0, 0];
  const std = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    for (let n = 0; n < N; n++) for (let s = 0; s < 16; s++) mean[c]! += t[n * 64 + c * 16 + s]! / (N * 16);
    for (let n = 0; n < N; n++) for (let s = 0; s < 16; s++) std[c]! += (t[n * 64 + c * 16 + s]! - mean[c]!) ** 2 / (N * 16);
    std[c] = Math.sqrt(std[c]!);
  }
  return { mean, std };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]! / a.length;
    mb += b[i]! / b.length;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('demo DiT: behaviour with the demo weights', () => {
  const H = 16; // latent 16x16: 128x128 pixels, 8x8 = 64 tokens
  const N = 64;
  let base: LoadedModelGraph;
  let merged: LoadedModelGraph;
  let subjectTokens: Float32Array;
  let styleTokens: Record<'a' | 'b', Float32Array>;
  let encodeText: (words: string[]) => Promise<Float32Array>;
  let pooled: Float32Array;
  const mergedWeights = (): TensorMap => {
    const t = demoDitTensors();
    const lora = demoLoraTensors();
    const w = Float32Array.from(t['double_blocks.0.img_attn.proj.weight']!.data as Float32Array);
    const down = lora['double_blocks.0.processor.proj_lora1.down.weight']!.data as Float32Array;
    const up = lora['double_blocks.0.processor.proj_lora1.up.weight']!.data as Float32Array;
    const rank = down.length / 64;
    for (let o = 0; o < 64; o++) for (let i = 0; i < 64; i++) for (let r = 0; r < rank; r++) w[o * 64 + i]! += up[o * rank + r]! * down[r * 64 + i]!;
    t['double_blocks.0.img_attn.proj.weight'] = { dtype: 'F32', shape: [64, 64], data: w };
    return t;
  };

  beforeAll(async () => {
    base = await writeAndLoad(dir, 'demo-dit', demoDitTensors(), demoMetadata('uso-demo-dit'), 'dit');
    merged = await writeAndLoad(dir, 'demo-dit-lora-merged', mergedWeights(), demoMetadata('uso-demo-dit'), 'dit');
    const enc = await writeAndLoad(dir, 'vae', demoVaeTensors(), demoMetadata('v'), 'vae_encoder');
    const { latent } = await runGraph(pool, enc, { image: Tensor.float32([1, 3, 8 * H, 8 * H], toChw(demoSubjectImage(), 8 * H)) });
    subjectTokens = pack((latent!.data as Float32Array).map((z) => (z - SHIFT) * SCALE), H, H);
    const vision = await writeAndLoad(dir, 'vision', demoVisionTensors(), demoMetadata('s'), 'vision_encoder');
    const projector = await writeAndLoad(dir, 'projector', withPrefix('feature_embedder.', demoProjectorTensors()), demoMetadata('p'), 'projector');
    const styleOf = async (img: ReturnType<typeof demoStyleImageA>) => {
      const { hidden_states } = await runGraph(pool, vision, { pixel_values: Tensor.float32([1, 3, 384, 384], toChw({ ...img, width: 384 * 4, height: 384 * 4, rgb: upscale4(img) }, 384)) });
      return (await runGraph(pool, projector, { hidden_states: hidden_states! })).style_tokens!.data as Float32Array;
    };
    styleTokens = { a: await styleOf(demoStyleImageA(384)), b: await styleOf(demoStyleImageB(384)) };
    const t5 = await writeAndLoad(dir, 't5', demoT5Tensors(), demoMetadata('t'), 't5');
    const vocab = demoVocabulary(DEMO_T5_TOKENIZER);
    encodeText = async (words) => {
      const ids = [...words.map((x) => vocab.get(x)!), 1];
      while (ids.length < 256) ids.push(0);
      const out = await runGraph(pool, t5, { input_ids: new Tensor('int64', [1, 256], BigInt64Array.from(ids, BigInt)) });
      return out.last_hidden_state!.data as Float32Array;
    };
    const clip = await writeAndLoad(dir, 'clip', demoClipTensors(), demoMetadata('c'), 'clip');
    const ids = [0, ...Array(76).fill(1)];
    pooled = (await runGraph(pool, clip, { input_ids: new Tensor('int64', [1, 77], BigInt64Array.from(ids, BigInt)) })).pooled!.data as Float32Array;
  });

  function upscale4(img: { width: number; height: number; rgb: Uint8Array }): Uint8Array {
    const out = new Uint8Array(img.width * 4 * img.height * 4 * 3);
    for (let y = 0; y < img.height * 4; y++)
      for (let x = 0; x < img.width * 4; x++)
        for (let c = 0; c < 3; c++) out[(y * img.width * 4 + x) * 3 + c] = img.rgb[((y >> 2) * img.width + (x >> 2)) * 3 + c]!;
    return out;
  }

  const inputs = (opts: { x: Float32Array; sigma: number; ref: boolean; style?: 'a' | 'b'; txt: Float32Array; guidance?: number }): DitInputs => ({
    B: 1, N, R: opts.ref ? N : 0, L: 256, S: opts.style ? 12 : 0, ctx: 16, hidden: 16, vec: 16,
    img: opts.x,
    imgIds: gridIds(8, 8),
    ref: opts.ref ? subjectTokens : [],
    refIds: opts.ref ? gridIds(8, 8, 8, 8) : [],
    txt: opts.txt,
    style: opts.style ? styleTokens[opts.style] : [],
    timesteps: [opts.sigma],
    guidance: [opts.guidance ?? 3.5],
    y: pooled,
  });

  /** Euler over ComfyUI's 10-step simple Flux schedule from seeded noise. */
  async function euler(graph: LoadedModelGraph, seed: string, opts: Omit<Parameters<typeof inputs>[0], 'x' | 'sigma'>): Promise<Float32Array> {
    const sigmas = simpleScheduler(modelSamplingFlux(), 10);
    let x = seededNormal(seed, N * 64);
    for (let i = 0; i < sigmas.length - 1; i++) {
      const { velocity } = await runGraph(pool, graph, feeds(inputs({ ...opts, x, sigma: sigmas[i]! })));
      const v = velocity!.data as Float32Array;
      const dt = sigmas[i + 1]! - sigmas[i]!;
      x = x.map((xi, k) => xi + dt * v[k]!);
    }
    return x;
  }

  it('Euler from noise ends on x0*: the subject structure in the style colours (LoRA merged)', async () => {
    const txt = await encodeText(['a', 'photo']);
    const out = await euler(merged, 'seed-1', { ref: true, style: 'a', txt });
    const { target, structure } = ditTargetRef(valuesOf(mergedWeights()), inputs({ x: out, sigma: 1, ref: true, style: 'a', txt }), 0);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - target[i]!));
    expect(worst).toBeLessThanOrEqual(DEMO_DIT_CONSTANTS.grain + 1e-4); // only the bounded grain remains
    // Structure: every colour follows the subject's layout.
    for (let c = 0; c < 3; c++) {
      const pick = (t: ArrayLike<number>) => Array.from({ length: N * 16 }, (_, k) => t[Math.floor(k / 16) * 64 + c * 16 + (k % 16)]!);
      expect(Math.abs(correlation(pick(out), pick(subjectTokens)))).toBeGreaterThan(0.9);
      expect(correlation(pick(structure), pick(subjectTokens))).toBeGreaterThan(0.95);
    }
    // Colours: the style's mean and contrast per channel, in processed latent space.
    const st = styleTokens.a;
    const got = colourStats(out, N);
    for (let c = 0; c < 3; c++) {
      const mu = st[c]!;
      const sd = Math.sqrt(st[3 + c]! - mu * mu);
      expect(got.mean[c]).toBeCloseTo((mu - SHIFT) * SCALE, 2);
      expect(Math.abs(got.std[c]! - sd * SCALE)).toBeLessThan(0.02);
    }
  });

  it('without the LoRA the style applies partly (gate 0.35); another style gives other colours', async () => {
    const txt = await encodeText(['a', 'photo']);
    const plain = await euler(base, 'seed-1', { ref: true, style: 'a', txt });
    const full = await euler(merged, 'seed-1', { ref: true, style: 'a', txt });
    const other = await euler(merged, 'seed-1', { ref: true, style: 'b', txt });
    const subj = colourStats(subjectTokens, N).mean;
    const [p, f, o] = [plain, full, other].map((t) => colourStats(t, N).mean);
    for (let c = 0; c < 3; c++) expect(p![c]! - subj[c]!).toBeCloseTo(0.35 * (f![c]! - subj[c]!), 2);
    expect(Math.max(...[0, 1, 2].map((c) => Math.abs(f![c]! - o![c]!)))).toBeGreaterThan(0.05);
  });

  it('with no reference and no style (zero-length axes) it draws the text pattern; other text, other pattern', async () => {
    const red = await encodeText(['a', 'red', 'circle']);
    const waves = await encodeText(['blue', 'waves', 'at', 'night']);
    const a = await euler(base, 'seed-2', { ref: false, txt: red });
    const b = await euler(base, 'seed-2', { ref: false, txt: waves });
    const ta = ditTargetRef(valuesOf(demoDitTensors()), inputs({ x: a, sigma: 1, ref: false, txt: red }), 0).target;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - ta[i]!));
    expect(worst).toBeLessThanOrEqual(DEMO_DIT_CONSTANTS.grain + 1e-4);
    expect(normalisedError(a, b)).toBeGreaterThan(0.2);
    // "red" tints the red channel up relative to blue.
    const s = colourStats(a, N).mean;
    expect(s[0]!).toBeGreaterThan(s[2]!);
    const sb = colourStats(b, N).mean;
    expect(sb[2]!).toBeGreaterThan(sb[0]!);
  });

  it('the text pattern is smooth across token borders (evaluated per sub-cell)', async () => {
    const txt = await encodeText(['stripes', 'and', 'waves']);
    const { velocity } = await runGraph(pool, base, feeds(inputs({ x: new Float32Array(N * 64), sigma: 1, ref: false, txt })));
    const t = (velocity!.data as Float32Array).map((v) => -v); // sigma 1, x 0: velocity = -T
    // Colour 0 on the 32x32 sub-cell grid: token (i, j), feature k = q*4 + s -> row 4i + 2dy + qy, col 4j + 2dx + qx.
    const grid = new Float64Array(32 * 32);
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++)
        for (let k = 0; k < 16; k++) {
          const q = k >> 2;
          const sp = k & 3;
          grid[(4 * i + 2 * (sp >> 1) + (q >> 1)) * 32 + 4 * j + 2 * (sp & 1) + (q & 1)] = t[(i * 8 + j) * 64 + k]!;
        }
    let inside = 0;
    let border = 0;
    for (let r = 0; r < 32; r++)
      for (let c = 0; c < 31; c++) {
        const d = Math.abs(grid[r * 32 + c + 1]! - grid[r * 32 + c]!);
        if (c % 4 === 3) border = Math.max(border, d);
        else inside = Math.max(inside, d);
      }
    expect(inside).toBeGreaterThan(0);
    expect(border).toBeLessThan(1.5 * inside);
  });

  it('different seeds give different grain around the same picture', async () => {
    const txt = await encodeText(['a', 'photo']);
    const a = await euler(merged, 'seed-3', { ref: true, style: 'b', txt });
    const b = await euler(merged, 'seed-4', { ref: true, style: 'b', txt });
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeGreaterThan(0.005);
    expect(diff).toBeLessThanOrEqual(2 * DEMO_DIT_CONSTANTS.grain + 1e-4);
  });

  it('guidance scales the style contrast by (guidance / 3.5)^0.3', async () => {
    const txt = await encodeText(['a', 'photo']);
    // At sigma = 1 with x = 0 the grain term is tanh(0) = 0, so velocity = -T exactly.
    const clean = async (guidance: number) => {
      const { velocity } = await runGraph(pool, merged, feeds(inputs({ x: new Float32Array(N * 64), sigma: 1, ref: true, style: 'a', txt, guidance })));
      return (velocity!.data as Float32Array).map((v) => -v);
    };
    const [l, h] = [await clean(1), await clean(5)].map((t) => colourStats(t, N).std);
    for (let c = 0; c < 3; c++) expect(h![c]! / l![c]!).toBeCloseTo(5 ** 0.3, 3);
  });
});
