/**
 * The symbolic-shape pass on the patterns that leave onnxruntime's own inference with unknown dims: a Concat along
 * the token axis, a Linear's flatten / Gemm / reshape-back through Shape nodes, a Split by run-time sizes and a Slice
 * at computed offsets. The annotated graph must run in onnxruntime with the same results as the plain one, for token
 * counts that differ between the streams (a wrong shape would make the planner share a buffer of another size).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';
import { GraphBuilder, attr, type Value } from './graph-builder.ts';
import { annotateSymbolicShapes, withSymbolicShapes } from './symbolic-shapes.ts';

const dir = mkdtempSync(join(tmpdir(), 'symbolic-shapes-'));
const pool = new SessionPool();
afterAll(async () => {
  await pool.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Two token streams joined, projected by a Linear written as blocks.ts writes it, split back, the first stream sliced out. */
function twoStreams(): Uint8Array {
  const g = new GraphBuilder({ name: 'two_streams' });
  const a = g.input('a', 'float32', ['B', 'L', 4]); // [B, L, 4]
  const b = g.input('b', 'float32', ['B', 'M', 4]); // [B, M, 4]
  const joint = g.concat([a, b], 1, 'joint'); // [B, L+M, 4]
  const linear = (x: Value, out: number, name: string): Value => {
    const flat = g.reshape(x, [-1, 4], `${name}.flatten`); // [B*(L+M), 4]
    const w = g.constFloat(Array.from({ length: out * 4 }, (_, i) => Math.sin(i)), [out, 4]);
    const y = g.gemm(flat, w, { transB: true, name: `${name}.gemm` }); // [B*(L+M), out]
    const outShape = g.concat([g.shape(x, { end: -1, name: `${name}.lead` }), g.constInt64([out])], 0, `${name}.out_shape`);
    return g.reshape(y, outShape, name); // [B, L+M, out]
  };
  const projected = g.op('Sigmoid', [linear(joint, 6, 'proj')], { name: 'act' }); // [B, L+M, 6]
  const sizes = g.concat([g.shape(a, { start: 1, end: 2 }), g.shape(b, { start: 1, end: 2 })], 0, 'sizes'); // [2]
  const [first, second] = g.opMulti('Split', [projected, sizes], { name: 'parts', outputs: 2, attrs: { axis: attr.int(1) } });
  const start = g.shape(a, { start: 1, end: 2, name: 'first_len' });
  const end = g.add(start, g.shape(b, { start: 1, end: 2 }), 'first_end');
  const window = g.op('Slice', [projected, start, end, g.constInt64([1])], { name: 'second_again' }); // [B, M, 6]
  g.output(g.add(first!, g.constFloat([1]), 'first_out'), 'first', 'float32');
  g.output(g.mul(second!, window, 'second_out'), 'second', 'float32');
  g.output(g.op('Atan', [projected], { name: 'unknown_op' }), 'atan', 'float32');
  // A scalar picked from an input vector (how a LoRA branch reads its strength) scales a stream.
  const strength = g.gather(g.input('k', 'float32', ['K']), g.constInt64([1], []), 0, 'strength'); // []
  g.output(g.mul(projected, strength, 'scaled'), 'scaled_out', 'float32');
  return g.build().bytes;
}

function dimsOf(model: onnxProto.onnx.IModelProto, name: string): Array<string | number> | undefined {
  const info = model.graph!.valueInfo!.find((v) => v.name === name);
  return info?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
}

describe('annotateSymbolicShapes', () => {
  it('names the dims onnxruntime leaves unknown by the expressions that produce them', () => {
    const model = onnxProto.onnx.ModelProto.decode(twoStreams());
    expect(annotateSymbolicShapes(model)).toBeGreaterThan(10);
    expect(dimsOf(model, 'joint')).toEqual(['B', 'L+M', 4]);
    expect(dimsOf(model, 'proj.flatten')).toEqual(['B*(L+M)', 4]);
    expect(dimsOf(model, 'proj.gemm')).toEqual(['B*(L+M)', 6]);
    expect(dimsOf(model, 'proj')).toEqual(['B', 'L+M', 6]);
    expect(dimsOf(model, 'act')).toEqual(['B', 'L+M', 6]);
    expect(dimsOf(model, 'parts')).toEqual(['B', 'L', 6]);
    expect(dimsOf(model, 'parts:1')).toEqual(['B', 'M', 6]);
    expect(dimsOf(model, 'second_again')).toEqual(['B', 'M', 6]);
    expect(dimsOf(model, 'second_out')).toEqual(['B', 'M', 6]);
    expect(dimsOf(model, 'strength')).toEqual([]);
    expect(dimsOf(model, 'scaled')).toEqual(['B', 'L+M', 6]);
    // An op the pass does not know is left to onnxruntime, not guessed.
    expect(dimsOf(model, 'unknown_op')).toBeUndefined();
  });

  it('the annotated graph runs in onnxruntime with the plain graph\'s results, for streams of different lengths', async () => {
    const plain = twoStreams();
    writeFileSync(join(dir, 'plain.onnx'), plain);
    writeFileSync(join(dir, 'annotated.onnx'), withSymbolicShapes(plain));
    const feeds = (batch: number, l: number, m: number) => ({
      a: Tensor.float32([batch, l, 4], Float32Array.from({ length: batch * l * 4 }, (_, i) => Math.cos(i * 0.3))),
      b: Tensor.float32([batch, m, 4], Float32Array.from({ length: batch * m * 4 }, (_, i) => Math.sin(i * 0.7))),
      k: Tensor.float32([2], Float32Array.of(0.5, -1.5)),
    });
    const plainSession = await pool.acquire({ path: join(dir, 'plain.onnx') });
    const annotatedSession = await pool.acquire({ path: join(dir, 'annotated.onnx') });
    for (const [batch, l, m] of [[1, 3, 5], [2, 7, 2], [1, 4, 4], [2, 0, 3]] as const) {
      const expected = await pool.run(plainSession, feeds(batch, l, m));
      const got = await pool.run(annotatedSession, feeds(batch, l, m));
      for (const name of ['first', 'second', 'atan', 'scaled_out']) {
        expect(got[name]!.shape).toEqual(expected[name]!.shape);
        expect(Array.from(got[name]!.data as Float32Array)).toEqual(Array.from(expected[name]!.data as Float32Array));
      }
      expect(got.second!.shape).toEqual([batch, m, 6]);
    }
  });
});
