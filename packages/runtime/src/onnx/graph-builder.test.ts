import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { GraphBuilder, type Value } from './graph-builder.ts';
import { inlineWeights, safetensorsWeights } from './weights.ts';
import { writeSafetensors } from '../safetensors/writer.ts';
import { readSafetensorsHeader } from '../safetensors/header.ts';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const root = mkdtempSync(join(tmpdir(), 'graph-builder-'));

/** Builds a one-input graph with `body`, saves it, runs it on x and returns the float32 output. */
async function runUnary(
  name: string,
  x: { shape: number[]; data: number[] },
  body: (g: GraphBuilder, x: Value) => Value,
): Promise<{ shape: readonly number[]; data: number[] }> {
  const g = new GraphBuilder({ name });
  const input = g.input('x', 'float32', x.shape);
  g.output(body(g, input), 'y', 'float32');
  const path = join(root, `${name}.onnx`);
  g.save(path);
  const s = await pool.acquire(path);
  const { y } = await pool.run(s, { x: Tensor.float32(x.shape, Float32Array.from(x.data)) });
  return { shape: y!.shape, data: [...(y!.data as Float32Array)] };
}

function close(actual: number[], expected: number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!)).toBeLessThan(tol));
}

describe('GraphBuilder external data', () => {
  it('points initializers into a safetensors file next to the model (loaded by path)', async () => {
    const dir = join(root, 'same-folder');
    mkdirSync(dir);
    const file = join(dir, 'w.safetensors');
    writeSafetensors(file, {
      pad: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }, // makes the next offset unaligned
      'proj.weight': { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      'proj.bias': { dtype: 'F32', shape: [3], data: new Float32Array([0.5, 0, -0.5]) },
    });
    const header = readSafetensorsHeader(file);
    const g = new GraphBuilder({ weights: safetensorsWeights(header) });
    const x = g.input('x', 'float32', ['B', 2]);
    const y = g.gemm(x, g.weight('proj.weight'), { c: g.weight('proj.bias'), transB: true, name: 'proj' });
    g.output(y, 'y', 'float32', ['B', 3]);
    const built = g.save(join(dir, 'model.onnx'));
    expect(built.externalDataDir).toBe(dir);
    expect(built.weightBytes).toBe(24 + 12);
    const proto = g.toModelProto();
    const init = proto.graph!.initializer!.find((t) => t.name === 'proj.weight')!;
    expect(init.rawData ?? null).toBeNull();
    expect(Object.fromEntries(init.externalData!.map((e) => [e.key, e.value]))).toEqual({
      location: 'w.safetensors',
      offset: String(header.tensors.get('proj.weight')!.offset),
      length: '24',
    });
    const s = await pool.acquire(join(dir, 'model.onnx'), { disablePrepacking: true });
    const { y: out } = await pool.run(s, { x: Tensor.float32([2, 2], new Float32Array([1, 0, 0, 1])) });
    expect(out!.shape).toEqual([2, 3]);
    expect([...(out!.data as Float32Array)]).toEqual([1.5, 3, 4.5, 2.5, 4, 5.5]);
  });

  it('loads a cached model from another folder through externalDataDir, across weight subfolders', async () => {
    const models = join(root, 'models');
    mkdirSync(join(models, 'a'), { recursive: true });
    mkdirSync(join(models, 'b'), { recursive: true });
    writeSafetensors(join(models, 'a', 'one.safetensors'), { w1: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    writeSafetensors(join(models, 'b', 'two.safetensors'), { w2: { dtype: 'F32', shape: [2], data: new Float32Array([10, 20]) } });
    const weights = safetensorsWeights([
      readSafetensorsHeader(join(models, 'a', 'one.safetensors')),
      readSafetensorsHeader(join(models, 'b', 'two.safetensors')),
    ]);
    const g = new GraphBuilder({ weights });
    const x = g.input('x', 'float32', [2]);
    g.output(g.add(g.mul(x, g.weight('w1'), 'scaled'), g.weight('w2'), 'shifted'), 'y', 'float32', [2]);
    const built = g.save(join(root, 'cache', 'deep', 'model.onnx'));
    expect(built.externalDataDir).toBe(models);
    const locations = g.toModelProto().graph!.initializer!.map((t) => t.externalData!.find((e) => e.key === 'location')!.value);
    expect(locations).toEqual(['a/one.safetensors', 'b/two.safetensors']);
    const s = await pool.acquire({ path: built.path, externalDataDir: built.externalDataDir });
    const { y } = await pool.run(s, { x: Tensor.float32([2], new Float32Array([3, 4])) });
    expect([...(y!.data as Float32Array)]).toEqual([13, 28]);
  });

  it('casts BF16, F16 and F8_E4M3 weights to float32 inside the graph', async () => {
    const dir = join(root, 'low-precision');
    mkdirSync(dir);
    const file = join(dir, 'lp.safetensors');
    writeSafetensors(file, {
      bf: { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc040, 0x3e00]) }, // 1, -3, 0.125
      hf: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc200, 0x3400]) }, // 1, -3, 0.25
      f8: { dtype: 'F8_E4M3', shape: [3], data: new Uint8Array([0x38, 0xc4, 0x30]) }, // 1, -3, 0.5
    });
    const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
    const x = g.input('x', 'float32', [3]);
    const sum = g.add(g.add(g.weight('bf'), g.weight('hf')), g.weight('f8'));
    g.output(g.mul(x, sum, 'y'), 'y', 'float32', [3]);
    expect(g.nodeNames()).toContain('bf.cast');
    const path = join(dir, 'lp.onnx');
    g.save(path);
    const { y } = await pool.run(await pool.acquire(path), { x: Tensor.float32([3], new Float32Array([1, 1, 2])) });
    expect([...(y!.data as Float32Array)]).toEqual([3, -9, 1.75]);
  });
});

describe('GraphBuilder ops', () => {
  it('reshape, transpose, concat, slice, split, unsqueeze, squeeze', async () => {
    const out = await runUnary('shapes', { shape: [2, 3], data: [0, 1, 2, 3, 4, 5] }, (g, x) => {
      const t = g.transpose(x, [1, 0]); // [3, 2]: 0 3 1 4 2 5
      const r = g.reshape(t, [1, 6]); // [1, 6]
      const [a, b] = g.split(r, [2, 4], 1); // [1, 2], [1, 4]
      const s = g.slice(b!, [1], [3], [1]); // [1, 2]: 4 2
      const c = g.concat([s, a!], 1); // [1, 4]: 4 2 0 3
      return g.squeeze(g.unsqueeze(c, [0]), [0, 1]); // [4]
    });
    expect(out.shape).toEqual([4]);
    expect(out.data).toEqual([4, 2, 0, 3]);
  });

  it('gather, expand, shape, where, equal, cast', async () => {
    const out = await runUnary('select', { shape: [3], data: [5, 6, 7] }, (g, x) => {
      const picked = g.gather(x, g.constInt64([2, 0])); // [2]: 7 5
      const n = g.cast(g.shape(x), 'float32'); // [1]: 3
      const e = g.expand(g.reshape(picked, [1, 2]), [2, 2]); // [2, 2]
      const mask = g.equal(e, g.scalar(7));
      return g.where(mask, g.mul(e, n), e); // 21 5 21 5
    });
    expect(out.data).toEqual([21, 5, 21, 5]);
  });

  it('elementwise math matches Math.*', async () => {
    const xs = [-1.5, -0.2, 0.3, 2];
    const out = await runUnary('math', { shape: [4], data: xs }, (g, x) => {
      const terms = [
        g.exp(x),
        g.cos(x),
        g.sin(x),
        g.tanh(x),
        g.sigmoid(x),
        g.silu(x, 'act'),
        g.sqrt(g.add(g.mul(x, x), g.scalar(1))),
        g.reciprocal(g.add(g.mul(x, x), g.scalar(1))),
        g.gelu(x, 'tanh'),
        g.gelu(x),
        g.div(g.sub(x, g.scalar(1)), g.scalar(4)),
        g.pow(g.relu(x), g.scalar(2)),
        g.neg(x),
      ];
      return g.concat(terms, 0);
    });
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    const erf = (v: number) => {
      // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; enough for a 1e-5 check.
      const t = 1 / (1 + 0.3275911 * Math.abs(v));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-v * v);
      return v >= 0 ? y : -y;
    };
    const expected = [
      ...xs.map(Math.exp),
      ...xs.map(Math.cos),
      ...xs.map(Math.sin),
      ...xs.map(Math.tanh),
      ...xs.map(sig),
      ...xs.map((v) => v * sig(v)),
      ...xs.map((v) => Math.sqrt(v * v + 1)),
      ...xs.map((v) => 1 / (v * v + 1)),
      ...xs.map(geluTanh),
      ...xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      ...xs.map((v) => (v - 1) / 4),
      ...xs.map((v) => Math.max(v, 0) ** 2),
      ...xs.map((v) => -v),
    ];
    close(out.data, expected);
  });

  it('softmax, layerNormalization, reduceMean, reduceSum, matMul', async () => {
    const out = await runUnary('norms', { shape: [2, 2], data: [1, 2, 3, 5] }, (g, x) => {
      const sm = g.reshape(g.softmax(x, -1), [-1]);
      const ln = g.reshape(g.layerNormalization(x, g.constFloat([1, 1]), g.constFloat([0, 1]), 1e-5), [-1]);
      const mean = g.reduceMean(x, [1], false); // [2]
      const sum = g.reduceSum(x, [0, 1], false); // []
      const mm = g.reshape(g.matMul(x, x), [-1]);
      return g.concat([sm, ln, mean, g.reshape(sum, [1]), mm], 0);
    });
    const e = 1 / (1 + Math.E);
    const ln = (a: number, b: number) => {
      const m = (a + b) / 2;
      const v = ((a - m) ** 2 + (b - m) ** 2) / 2;
      return [(a - m) / Math.sqrt(v + 1e-5), (b - m) / Math.sqrt(v + 1e-5) + 1];
    };
    close(out.data, [e, 1 - e, 1 / (1 + Math.E ** 2), 1 - 1 / (1 + Math.E ** 2), ...ln(1, 2), ...ln(3, 5), 1.5, 4, 11, 7, 12, 18, 31]);
  });

  it('conv, convTranspose and nearest resize on NCHW', async () => {
    const out = await runUnary('conv', { shape: [1, 1, 2, 2], data: [1, 2, 3, 4] }, (g, x) => {
      const up = g.resize(x, [1, 1, 2, 2]); // [1, 1, 4, 4]
      const w = g.constFloat([1, 1, 1, 1], [1, 1, 2, 2]);
      const c = g.conv(up, w, g.constFloat([0.5]), { strides: [2, 2] }); // [1, 1, 2, 2] = 4x + 0.5
      const ct = g.convTranspose(x, g.constFloat([1], [1, 1, 1, 1]), undefined, { strides: [1, 1] }); // identity
      return g.concat([g.reshape(c, [-1]), g.reshape(ct, [-1])], 0);
    });
    expect(out.data).toEqual([4.5, 8.5, 12.5, 16.5, 1, 2, 3, 4]);
  });
});

describe('GraphBuilder structure', () => {
  it('refuses duplicate tensor names and reads of unknown tensors', () => {
    const g = new GraphBuilder({ name: 'dups' });
    const x = g.input('x', 'float32', [1]);
    g.add(x, x, 'blocks.0.sum');
    expect(() => g.add(x, x, 'blocks.0.sum')).toThrow(/'blocks\.0\.sum' is already used in graph 'dups'/);
    expect(() => g.add(x, { name: 'ghost' }, 'b')).toThrow(/node 'b' \(Add\) reads unknown tensor 'ghost'/);
  });

  it('names a missing weight and its source', () => {
    const g = new GraphBuilder({ weights: inlineWeights({ a: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, 'tiny.safetensors') });
    expect(() => g.weight('b')).toThrow(/tiny\.safetensors: missing weight 'b'/);
  });

  it('gives byte-identical models for identical builds, with IR 10 / opset 21 and metadata', () => {
    const build = () => {
      const g = new GraphBuilder({ name: 'same', metadata: { architecture: 'test@1' } });
      const x = g.input('x', 'float32', ['B', 4]);
      g.output(g.silu(g.add(x, g.scalar(1)), 'act'), 'y', 'float32', ['B', 4]);
      return g.build().bytes;
    };
    const a = build();
    expect(Buffer.from(a).equals(Buffer.from(build()))).toBe(true);
    const model = onnxProto.onnx.ModelProto.decode(a);
    expect(Number(model.irVersion)).toBe(10);
    expect(Number(model.opsetImport[0]!.version)).toBe(21);
    expect(model.metadataProps.map((p) => [p.key, p.value])).toEqual([['architecture', 'test@1']]);
    expect(model.graph!.node!.map((n) => n.name)).toEqual(['Add_0', 'act.sigmoid', 'act', 'y']);
  });

  it('casts one stored weight to float32 and float16 side by side, once each', () => {
    const g = new GraphBuilder({ weights: inlineWeights({ w: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) } }) });
    const a = g.weight('w');
    expect(g.weight('w')).toBe(a);
    const h = g.weight('w', { as: 'float16' });
    expect(g.weight('w', { as: 'stored' }).name).toBe('w');
    expect([a.name, h.name]).toEqual(['w.cast', 'w.cast_f16']);
    expect(g.nodeNames()).toEqual(['w.cast', 'w.cast_f16']);
  });

  it('keeps inline weights inline', async () => {
    const g = new GraphBuilder({
      weights: inlineWeights({ w: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x4000, 0x4040]) } }),
    });
    const x = g.input('x', 'float32', [2]);
    g.output(g.mul(x, g.weight('w')), 'y', 'float32', [2]);
    const built = g.build();
    expect(built.externalDataDir).toBeNull();
    const path = join(root, 'inline.onnx');
    writeFileSync(path, built.bytes);
    const { y } = await pool.run(await pool.acquire(path), { x: Tensor.float32([2], new Float32Array([1, 2])) });
    expect([...(y!.data as Float32Array)]).toEqual([2, 6]);
  });
});
