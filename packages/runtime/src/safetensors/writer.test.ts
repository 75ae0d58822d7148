import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from './writer.ts';
import { readSafetensorsHeader } from './header.ts';
import { readTensorBytes, readTensorFloat32 } from './read-data.ts';

describe('writeSafetensors', () => {
  it('round-trips dtypes, shapes, data and metadata', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'st-writer-')), 'w.safetensors');
    const f32 = new Float32Array([0.5, -1.25, 3, 4]);
    writeSafetensors(
      path,
      {
        'x.weight': { dtype: 'F32', shape: [2, 2], data: f32 },
        'x.bf16': { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3fc0, 0xc020]) }, // 1.5, -2.5
        'x.ids': { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) },
        'x.f64': { dtype: 'F64', shape: [1], data: new Float64Array([0.25]) },
      },
      { format: 'pt' },
    );
    const h = readSafetensorsHeader(path);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(readTensorFloat32(h, 'x.weight')).toEqual(f32);
    expect(readTensorFloat32(h, 'x.bf16')).toEqual(new Float32Array([1.5, -2.5]));
    expect(readTensorFloat32(h, 'x.f64')).toEqual(new Float32Array([0.25]));
    expect(new BigInt64Array(readTensorBytes(h, 'x.ids').buffer)).toEqual(new BigInt64Array([1n, 2n, 3n]));
    expect(() => readTensorFloat32(h, 'x.ids')).toThrow(/'x\.ids' is I64/);
    expect(() => readTensorBytes(h, 'nope')).toThrow(/w\.safetensors: no tensor named 'nope'/);
  });

  it('refuses data whose size does not match the shape', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'st-writer-')), 'bad.safetensors');
    expect(() => writeSafetensors(path, { w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /tensor 'w' F32 \[3\] needs 12 bytes, got 8/,
    );
  });
});

