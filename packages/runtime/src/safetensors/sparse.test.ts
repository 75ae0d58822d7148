import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from './header.ts';
import { readTensorBytes } from './read-data.ts';
import { writeSparseSafetensors } from './sparse.ts';

const dir = mkdtempSync(join(tmpdir(), 'sparse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeSparseSafetensors', () => {
  it('writes a readable full-size header whose data is a hole of zeros', () => {
    const file = join(dir, 'big.safetensors');
    const size = writeSparseSafetensors(file, { 'a.weight': { dtype: 'BF16', shape: [4096, 4096] }, 'b.bias': { dtype: 'F32', shape: [3] } }, { note: 'x' });
    const header = readSafetensorsHeader(file);
    expect(statSync(file).size).toBe(size);
    expect(header.fileSize).toBe(size);
    expect(header.metadata).toEqual({ note: 'x' });
    expect(header.tensors.get('a.weight')).toMatchObject({ dtype: 'BF16', shape: [4096, 4096], length: 4096 * 4096 * 2 });
    expect(header.tensors.get('b.bias')!.offset).toBe(header.dataStart + 4096 * 4096 * 2);
    expect(header.dataStart % 8).toBe(0);
    expect([...readTensorBytes(header, 'b.bias')]).toEqual(new Array(12).fill(0));
    // 32 MiB of tensor data, but (almost) nothing allocated on disk.
    expect(statSync(file).blocks * 512).toBeLessThan(1 << 20);
  });
});
