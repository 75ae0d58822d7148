import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import { axisSizeFloat, isDemoFile, requireShape, safeMaxMin } from './demo-common.ts';
import { tempDir } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());

const header = (metadata: Record<string, string>): SafetensorsHeader => ({
  path: '/x.safetensors', fileSize: 0, mtimeMs: 0, headerLength: 0, dataStart: 8, metadata,
  tensors: new Map([['a.weight', { name: 'a.weight', dtype: 'F32', shape: [2, 3], offset: 0, length: 24 }]]),
});

describe('demo common helpers', () => {
  it('isDemoFile reads the metadata flag', () => {
    expect(isDemoFile(header({ 'uso_studio.demo': 'true' }))).toBe(true);
    expect(isDemoFile(header({}))).toBe(false);
  });

  it('requireShape names the file and key', () => {
    expect(requireShape(header({}), 'a.weight', 2)).toEqual([2, 3]);
    expect(() => requireShape(header({}), 'b.weight', 2)).toThrow(/x.safetensors: missing weight 'b.weight'/);
    expect(() => requireShape(header({}), 'a.weight', 4)).toThrow(/expected rank 4/);
  });

  it('safeMaxMin and axisSizeFloat stay finite on a zero-length axis', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['B', 'M', 2]);
    const { max, min } = safeMaxMin(g, x, 'r');
    g.output(max, 'max', 'float32');
    g.output(min, 'min', 'float32');
    g.output(axisSizeFloat(g, x, 1, 'm'), 'm_out', 'float32');
    const path = join(tempDir('demo-common'), 'g.onnx');
    g.save(path);
    const s = await pool.acquire(path);
    const empty = await pool.run(s, { x: Tensor.float32([2, 0, 2], new Float32Array(0)) });
    expect(empty.max!.shape).toEqual([2, 1, 2]);
    expect(Array.from(empty.max!.data as Float32Array)).toEqual(Array(4).fill(-1e9));
    expect(Array.from(empty.min!.data as Float32Array)).toEqual(Array(4).fill(1e9));
    expect(Array.from(empty.m_out!.data as Float32Array)).toEqual([0]);
    const full = await pool.run(s, { x: Tensor.float32([1, 3, 2], Float32Array.from([1, 5, -2, 4, 3, 0])) });
    expect(Array.from(full.max!.data as Float32Array)).toEqual([3, 5]);
    expect(Array.from(full.min!.data as Float32Array)).toEqual([-2, 0]);
    expect(Array.from(full.m_out!.data as Float32Array)).toEqual([3]);
  });
});
