/**
 * How checkpoint weights in every stored dtype reach the compute dtype inside a graph (GraphBuilder.weight): the
 * numbers, the node that converts them, and the session option that keeps bf16/f16 weights from being folded into
 * float32 copies.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { randomCheckpoint } from '../models/random-weights.ts';
import { readSafetensorsHeader } from '../safetensors/header.ts';
import { writeSafetensors } from '../safetensors/writer.ts';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';
import { GraphBuilder } from './graph-builder.ts';
import { inlineWeights, safetensorsWeights } from './weights.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'weight-dtypes-')));
const pool = new SessionPool();
afterAll(async () => {
  await pool.releaseAll();
  rmSync(root, { recursive: true, force: true });
});

const x = Float32Array.from({ length: 2 * 6 }, (_, i) => Math.sin(i + 1));

/** y = x W^T, with W read through weight(). */
function buildLinear(file: string, computeDtype?: 'float32' | 'float16') {
  const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const input = g.input('x', 'float32', [2, 6]);
  const w = g.weight('proj.weight', computeDtype ? { as: computeDtype } : {});
  const y = g.gemm(computeDtype === 'float16' ? g.cast(input, 'float16') : input, w, { transB: true });
  g.output(computeDtype === 'float16' ? g.cast(y, 'float32') : y, 'y', 'float32', [2, 4]);
  return g.save(join(root, `${file.split('/').pop()}-${computeDtype ?? 'f32'}.onnx`));
}

function reference(w: Float32Array, scale = 1): Float32Array {
  const out = new Float32Array(8);
  for (let r = 0; r < 2; r++) for (let o = 0; o < 4; o++) {
    let s = 0;
    for (let i = 0; i < 6; i++) s += x[r * 6 + i]! * w[o * 6 + i]! * scale;
    out[r * 4 + o] = s;
  }
  return out;
}

const opTypes = (bytes: Uint8Array) => onnxProto.onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType);

describe('GraphBuilder.weight in every stored dtype', () => {
  for (const dtype of ['F32', 'F16', 'BF16', 'F8_E4M3'] as const) {
    it(`${dtype}: runs with the stored values and converts with the right node`, async () => {
      const { tensors, values } = randomCheckpoint({ 'proj.weight': { shape: [4, 6], std: 0.5 } }, dtype);
      const file = join(root, `w-${dtype}.safetensors`);
      writeSafetensors(file, tensors);
      const built = buildLinear(file);
      const ops = opTypes(built.bytes);
      expect(ops.includes('Cast')).toBe(dtype === 'F16' || dtype === 'BF16');
      expect(ops.includes('DequantizeLinear')).toBe(dtype === 'F8_E4M3');
      // Only Casts of initializers need constant folding off; DequantizeLinear is never folded by onnxruntime.
      expect(built.castsWeights).toBe(dtype === 'F16' || dtype === 'BF16');
      const session = await pool.acquire({ path: built.path, externalDataDir: built.externalDataDir, disableConstantFolding: built.castsWeights });
      const { y } = await pool.run(session, { x: Tensor.float32([2, 6], x) });
      const want = reference(values['proj.weight']!);
      const got = y!.data as Float32Array;
      for (let i = 0; i < 8; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    });
  }

  it('applies the per-tensor scale of a scaled-fp8 checkpoint', async () => {
    const { tensors, values } = randomCheckpoint({ 'proj.weight': { shape: [4, 6], std: 0.5 } }, 'F8_E4M3');
    const file = join(root, 'w-scaled.safetensors');
    writeSafetensors(file, { ...tensors, 'proj.scale_weight': { dtype: 'F32', shape: [], data: Float32Array.of(0.125) } });
    const built = buildLinear(file);
    const session = await pool.acquire({ path: built.path, externalDataDir: built.externalDataDir });
    const { y } = await pool.run(session, { x: Tensor.float32([2, 6], x) });
    const want = reference(values['proj.weight']!, 0.125);
    for (let i = 0; i < 8; i++) expect((y!.data as Float32Array)[i]).toBeCloseTo(want[i]!, 6);
  });

  it('reads inline scaled fp8 weights the same way', () => {
    const { tensors } = randomCheckpoint({ 'a.weight': { shape: [2, 2] } }, 'F8_E4M3');
    const source = inlineWeights({ ...tensors, 'a.scale_weight': { dtype: 'F32', shape: [], data: Float32Array.of(2) } });
    expect(source.scale!('a.weight')).toBe(2);
    expect(source.scale!('b.weight')).toBeUndefined();
  });

  it('converts to float16 when asked, and never to float32', () => {
    const { tensors } = randomCheckpoint({ 'proj.weight': { shape: [4, 6] } }, 'BF16');
    const file = join(root, 'w-f16-compute.safetensors');
    writeSafetensors(file, tensors);
    const built = buildLinear(file, 'float16');
    const model = onnxProto.onnx.ModelProto.decode(built.bytes);
    const cast = model.graph!.node!.find((n) => n.input![0] === 'proj.weight')!;
    expect(cast.name).toBe('proj.weight.cast_f16');
    expect(Number(cast.attribute!.find((a) => a.name === 'to')!.i)).toBe(10); // FLOAT16
  });
});
