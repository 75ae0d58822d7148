import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { subCellCanvas } from './demo-dit-resample.ts';
import { tempDir } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('demo-dit-resample');

/** The flat canvas index of every sub-cell, computed exactly in JavaScript (the graph's contract). */
function expectedIndices(b: number, ids: number[][]): bigint[] {
  const rows = ids.map((t) => t[1]!);
  const cols = ids.map((t) => t[2]!);
  const lo = [Math.min(...rows), Math.min(...cols)];
  const height = (Math.max(...rows) - lo[0]! + 1) * 4;
  const width = (Math.max(...cols) - lo[1]! + 1) * 4;
  const out: bigint[] = [];
  for (let n = 0; n < b; n++) {
    for (const [, r, c] of ids) {
      for (let k = 0; k < 16; k++) {
        const q = k >> 2;
        const s = k & 3;
        const row = (r! - lo[0]!) * 4 + 2 * (s >> 1) + (q >> 1);
        const col = (c! - lo[1]!) * 4 + 2 * (s & 1) + (q & 1);
        out.push(BigInt(n) * BigInt(height * width) + BigInt(row) * BigInt(width) + BigInt(col));
      }
    }
  }
  return out;
}

describe('demo DiT sub-cell canvas indices', () => {
  it('are exact past 2^24 (the float32 limit), at the largest canvas a 16384² batch makes', async () => {
    const g = new GraphBuilder({ name: 'canvas_index' });
    const ids = g.input('ids', 'float32', ['B', 'M', 3]);
    const canvas = subCellCanvas(g, ids, 'c');
    g.output(canvas.index, 'index', 'int64');
    g.output(canvas.rows, 'rows', 'int64');
    const path = join(dir, 'canvas-index.onnx');
    g.save(path);
    // Two tokens spanning a 16384² image's token grid (1024 x 1024 tokens: 4096² sub-cells = 2^24 per item), a batch
    // of 3: the last indices are near 3 * 2^24, where float32 steps by 4.
    const tokens = [
      [0, 0, 0],
      [0, 1023, 1023],
      [0, 1023, 1022],
      [0, 511, 7],
    ];
    const b = 3;
    const data = new Float32Array(b * tokens.length * 3);
    for (let n = 0; n < b; n++) tokens.forEach((t, i) => data.set(t, (n * tokens.length + i) * 3));
    const session = await pool.acquire(path);
    const out = await pool.run(session, { ids: Tensor.float32([b, tokens.length, 3], data) });
    const got = [...(out.index!.data as BigInt64Array)];
    const want = expectedIndices(b, tokens);
    expect(out.index!.shape).toEqual([b, tokens.length, 16, 1]);
    expect(got).toEqual(want);
    expect(want.some((v) => v > 2n ** 24n + 1n && Number(v) !== Math.fround(Number(v)))).toBe(true);
    expect([...(out.rows!.data as BigInt64Array)]).toEqual([BigInt(b) * 4096n * 4096n]);
  });
});
