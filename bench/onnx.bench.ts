/**
 * onnxruntime costs through our own layers (graph builder, external data into safetensors, SessionPool):
 * session creation for a 64 MB external weight file with and without prepacking (the memory-mapped path is what makes
 * large checkpoints load in milliseconds), and one FLUX-style transformer block (QK-RMSNorm, RoPE, attention, tanh-GELU
 * MLP, modulation) at sequence length 1024, width 768, 12 heads on the CPU.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GraphBuilder,
  SessionPool,
  Tensor,
  applyRope,
  attention,
  layerNorm,
  linear,
  mlp,
  modulate,
  modulation,
  randomCheckpoint,
  randomWeight,
  readSafetensorsHeader,
  rmsNorm,
  ropeTables,
  safetensorsWeights,
  splitQkv,
  writeSafetensors,
} from '../packages/runtime/src/index.ts';
import { bestMs } from './measure.ts';
import type { BenchResult } from './types.ts';

export default async function (): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-bench-'));
  try {
    return [...(await sessionCreation(dir)), await transformerBlock(dir)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sessionCreation(dir: string): Promise<BenchResult[]> {
  const n = 4096; // [4096, 4096] float32 = 64 MB
  const file = join(dir, 'big.safetensors');
  writeSafetensors(file, { w: { dtype: 'F32', shape: [n, n], data: new Float32Array(n * n).fill(0.001) } });
  const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const x = g.input('x', 'float32', [1, n]);
  g.output(g.gemm(x, g.weight('w'), { transB: true, name: 'proj' }), 'y', 'float32', [1, n]);
  const built = g.save(join(dir, 'cache', 'big.onnx'));
  const ref = { path: built.path, externalDataDir: built.externalDataDir };
  const create = (disablePrepacking: boolean) => async () => {
    const pool = new SessionPool();
    await pool.acquire(ref, { disablePrepacking });
    await pool.releaseAll();
  };
  // No untimed warm-up: every call builds a fresh pool, so each one times a whole session creation.
  const copied = await bestMs(create(false), { rounds: 3, warmup: 0 });
  const mapped = await bestMs(create(true), { rounds: 3, warmup: 0 });
  return [
    {
      name: 'onnx: session create, 64 MB external F32, disable_prepacking (mmap)',
      value: mapped,
      unit: 'ms',
      better: 'lower',
      baseline: { name: 'default (copies weights)', value: copied },
    },
  ];
}

async function transformerBlock(dir: string): Promise<BenchResult> {
  const L = 1024;
  const C = 768;
  const H = 12;
  const D = C / H;
  const specs = {
    'b.mod.lin.weight': { shape: [6 * C, C], std: 0.02 },
    'b.mod.lin.bias': { shape: [6 * C], std: 0.02 },
    'b.qkv.weight': { shape: [3 * C, C], std: 0.02 },
    'b.q_norm.scale': { shape: [D], mean: 1, std: 0 },
    'b.k_norm.scale': { shape: [D], mean: 1, std: 0 },
    'b.proj.weight': { shape: [C, C], std: 0.02 },
    'b.mlp.0.weight': { shape: [4 * C, C], std: 0.02 },
    'b.mlp.2.weight': { shape: [C, 4 * C], std: 0.02 },
  };
  const file = join(dir, 'block.safetensors');
  writeSafetensors(file, randomCheckpoint(specs, 'F32').tensors);
  const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const x = g.input('x', 'float32', [1, L, C]);
  const ids = g.input('ids', 'float32', [L, 3]);
  const vec = g.input('vec', 'float32', [1, C]);
  const [m1, m2] = modulation(g, vec, 'b.mod', 2);
  const h = modulate(g, layerNorm(g, x, 'b.norm1', { dim: C, eps: 1e-6, affine: false }), m1!, 'b.mod1');
  const [q0, k0, v] = splitQkv(g, linear(g, h, 'b.qkv'), 'b.qkv', H);
  const pe = ropeTables(g, ids, 'pe', { axesDim: [16, 24, 24], theta: 10000, batched: false });
  const q = applyRope(g, rmsNorm(g, q0, 'b.q_norm', { weightKey: 'b.q_norm.scale', eps: 1e-6 }), pe, 'b.rope_q');
  const k = applyRope(g, rmsNorm(g, k0, 'b.k_norm', { weightKey: 'b.k_norm.scale', eps: 1e-6 }), pe, 'b.rope_k');
  const a = linear(g, attention(g, q, k, v, 'b.sdpa', { headDim: D }), 'b.proj');
  const x1 = g.add(x, g.mul(m1!.gate, a, 'b.attn_gated'), 'b.attn_res');
  const h2 = modulate(g, layerNorm(g, x1, 'b.norm2', { dim: C, eps: 1e-6, affine: false }), m2!, 'b.mod2');
  const out = g.add(x1, g.mul(m2!.gate, mlp(g, h2, 'b.mlp.0', 'b.mlp.2'), 'b.mlp_gated'), 'b.out');
  g.output(out, 'y', 'float32', [1, L, C]);
  const built = g.save(join(dir, 'block.onnx'));
  const pool = new SessionPool();
  const session = await pool.acquire(built.path);
  const feeds = {
    x: Tensor.float32([1, L, C], randomWeight('x', [1, L, C])),
    ids: Tensor.float32([L, 3], Float32Array.from({ length: L * 3 }, (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? Math.floor(i / 96) : (i / 3) % 32))),
    vec: Tensor.float32([1, C], randomWeight('vec', [1, C])),
  };
  const ms = await bestMs(() => pool.run(session, feeds), { rounds: 3, warmup: 1 });
  await pool.releaseAll();
  return {
    name: 'onnx: FLUX-style block, L=1024, C=768, 12 heads, CPU',
    value: ms,
    unit: 'ms',
    better: 'lower',
    target: 'about 48 ms for attention alone on 2 cores (onnxruntime-node.md)',
  };
}
