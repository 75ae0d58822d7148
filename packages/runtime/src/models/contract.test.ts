import { describe, it, expect } from 'vitest';
import { CONTRACTS, ROLES, ContractError, checkContract } from './contract.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { inlineWeights } from '../onnx/weights.ts';
import { attention, linear } from '../onnx/blocks.ts';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';

describe('graph contracts', () => {
  it('define every role with named, typed inputs and outputs', () => {
    expect(Object.keys(CONTRACTS).sort()).toEqual([...ROLES].sort());
    for (const role of ROLES) {
      const c = CONTRACTS[role];
      expect(c.role).toBe(role);
      expect(c.inputs.length).toBeGreaterThan(0);
      expect(c.outputs.length).toBeGreaterThan(0);
    }
    expect(CONTRACTS.dit.inputs.map((s) => s.name)).toEqual([
      'img', 'img_ids', 'ref_img', 'ref_img_ids', 'txt', 'txt_ids', 'style', 'timesteps', 'guidance', 'y',
    ]);
    expect(CONTRACTS.dit.outputs[0]).toMatchObject({ name: 'velocity', dims: ['B', 'N', 64] });
    expect(CONTRACTS.t5.inputs[0]!.dtype).toBe('int64');
  });

  it('accepts a conforming graph and lists every mismatch of a wrong one', () => {
    const good = new GraphBuilder();
    const ids = good.input('input_ids', 'int64', ['B', 77]);
    const pooled = good.expand(good.cast(good.reduceSum(ids, [1], true), 'float32'), good.constInt64([1, 768]));
    good.output(pooled, 'pooled', 'float32', ['B', 768]);
    expect(() => checkContract(good.build().bytes, CONTRACTS.clip, 'good clip')).not.toThrow();

    const bad = new GraphBuilder();
    const f = bad.input('input_ids', 'float32', ['B', 77]);
    const extra = bad.input('attention_mask', 'int64', ['B', 77]);
    bad.output(bad.add(f, bad.cast(extra, 'float32')), 'pooled', 'float32', ['B', 77, 1]);
    let message = '';
    try {
      checkContract(bad.build().bytes, CONTRACTS.clip, 'bad.safetensors');
    } catch (error) {
      expect(error).toBeInstanceOf(ContractError);
      message = (error as Error).message;
    }
    expect(message).toContain('bad.safetensors: graph does not match the clip contract');
    expect(message).toContain("input 'input_ids' is float32, expected int64");
    expect(message).toContain("output 'pooled' has rank 3, expected 2");
    expect(message).toContain("unexpected input 'attention_mask'");

    const missing = new GraphBuilder();
    missing.output(missing.identity(missing.input('input_ids', 'int64', ['B', 77])), 'ids_out', 'int64', ['B', 77]);
    expect(() => checkContract(missing.build().bytes, CONTRACTS.clip, 'm')).toThrow(/missing output 'pooled'/);
  });
});

describe('zero-length optional token inputs', () => {
  it('run through concat, linear, attention and slicing in onnxruntime', async () => {
    const g = new GraphBuilder({ weights: inlineWeights({ 'p.weight': { dtype: 'F32', shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0)) } }) });
    const img = g.input('img', 'float32', ['B', 'N', 4]);
    const ref = g.input('ref_img', 'float32', ['B', 'R', 4]);
    const joint = linear(g, g.concat([img, ref], 1, 'joint'), 'p'); // [B, N+R, 4]
    const heads = g.unsqueeze(joint, [1], 'heads'); // [B, 1, N+R, 4]
    const attended = attention(g, heads, heads, heads, 'sdpa', { headDim: 4 }); // [B, N+R, 4]
    const n = g.shape(img, { start: 1, end: 2, name: 'n' });
    const firstN = g.op('Slice', [attended, g.constInt64([0]), n, g.constInt64([1])], { name: 'first_n' }); // [B, N, 4]
    g.output(firstN, 'velocity', 'float32', ['B', 'N', 4]);
    const path = g.save(join(mkdtempSync(join(tmpdir(), 'zero-len-')), 'z.onnx')).path;
    const pool = new SessionPool();
    try {
      const s = await pool.acquire(path);
      const x = Float32Array.from({ length: 8 }, (_, i) => i);
      const empty = await pool.run(s, { img: Tensor.float32([1, 2, 4], x), ref_img: Tensor.float32([1, 0, 4], new Float32Array(0)) });
      expect(empty.velocity!.shape).toEqual([1, 2, 4]);
      const withRef = await pool.run(s, { img: Tensor.float32([1, 2, 4], x), ref_img: Tensor.float32([1, 3, 4], new Float32Array(12).fill(1)) });
      expect(withRef.velocity!.shape).toEqual([1, 2, 4]);
      expect([...(withRef.velocity!.data as Float32Array)]).not.toEqual([...(empty.velocity!.data as Float32Array)]);
    } finally {
      await pool.releaseAll();
    }
  });
});
