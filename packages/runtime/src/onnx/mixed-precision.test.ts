/**
 * The float16 compute path on the real FLUX DiT (tiny config, BF16 weights): the pass puts every product on float16
 * inputs read straight from the stored weights, leaves the rest float32, keeps the contract, and the graph still
 * runs. onnxruntime's CPU provider computes float16 products in float32 (it removes the casts again), so the numbers
 * equal the float32 graph here; on an accelerator they differ by float16 rounding (scripts/gpu-mixed-precision.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultArchitectures } from '../models/architectures/index.ts';
import { FLUX_CASES, TINY_FLUX, fluxCaseInputs, tinyFluxFile } from '../models/architectures/flux-dit-cases.ts';
import { loadModelGraph } from '../models/loader.ts';
import { writeSafetensors } from '../safetensors/writer.ts';
import { SessionPool } from '../session/session-pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'mixed-precision-'));
const pool = new SessionPool();
afterAll(async () => {
  await pool.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('toFloat16Products on the FLUX DiT', () => {
  it('runs every product in float16 on the stored weights and everything else in float32', async () => {
    const file = join(dir, 'tiny-bf16.safetensors');
    writeSafetensors(file, tinyFluxFile(TINY_FLUX, 'BF16').tensors);
    const registry = defaultArchitectures();
    const f16 = await loadModelGraph(file, 'dit', join(dir, 'graphs'), registry, { computeDtype: 'float16' });
    const f32 = await loadModelGraph(file, 'dit', join(dir, 'graphs'), registry);
    expect(f16.computeDtype).toBe('float16');
    expect(f16.disableConstantFolding).toBe(true);

    const graph = onnxProto.onnx.ModelProto.decode(readFileSync(f16.path)).graph!;
    const made = new Map(graph.node!.flatMap((n) => n.output!.map((o) => [o, n] as const)));
    const castTo = (name: string) => Number(made.get(name)?.attribute?.find((a) => a.name === 'to')?.i ?? -1);
    const products = graph.node!.filter((n) => ['Gemm', 'MatMul', 'MultiHeadAttention'].includes(n.opType!));
    expect(products.length).toBeGreaterThan(20);
    for (const p of products) {
      for (const input of p.input!.filter((x, i) => x !== '' && !(p.opType === 'MultiHeadAttention' && i === 4))) {
        expect(castTo(input), `${p.name} reads ${input}`).toBe(10); // FLOAT16
      }
      for (const out of p.output!.filter((o) => o !== '')) {
        // Each product's result is cast back to float32 for the rest of the graph.
        expect(graph.node!.some((n) => n.opType === 'Cast' && n.input![0] === out && Number(n.attribute![0]!.i) === 1), out).toBe(true);
      }
    }
    // Weights reach their products from the stored bf16 initializers, never through a float32 copy.
    const weightCasts = graph.node!.filter((n) => n.opType === 'Cast' && n.input![0] === 'double_blocks.0.img_attn.qkv.weight');
    expect(weightCasts.map((n) => Number(n.attribute![0]!.i))).toEqual([10]);
    // Norms stay float32: the RMS norm's mean of squares has no float16 cast in front of it.
    const reduce = graph.node!.filter((n) => n.opType === 'ReduceMean');
    for (const r of reduce) expect(castTo(r.input![0]!)).not.toBe(10);

    const k = FLUX_CASES.find((x) => x.styles === 1 && x.refs === 1 && x.batch === 1)!;
    const a = await pool.run(await pool.acquire(f16), fluxCaseInputs(TINY_FLUX, k));
    const b = await pool.run(await pool.acquire(f32), fluxCaseInputs(TINY_FLUX, k));
    expect(a.velocity!.shape).toEqual(b.velocity!.shape);
    const [x, y] = [a.velocity!.data as Float32Array, b.velocity!.data as Float32Array];
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    expect(worst).toBeLessThan(1e-2);
  });
});
