import { describe, it, expect, afterAll } from 'vitest';
import { GraphBuilder, LORA_STRENGTHS_INPUT } from './graph-builder.ts';
import { linear, linearGroups } from './blocks.ts';
import { inlineWeights, withWeightPatches, type WeightPatch } from './weights.ts';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32ArrayToFloat16 } from '../tensor/float16.ts';

const root = mkdtempSync(join(tmpdir(), 'uso-patch-'));
const pool = new SessionPool({ log: () => {} });
afterAll(async () => {
  await pool.close();
  rmSync(root, { recursive: true, force: true });
});

const bytes = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// W [6, 3], b [6]; the patch covers rows 1..2 with up [2, 2] (float16) and down [2, 3].
const W = Float32Array.from({ length: 18 }, (_, i) => (i % 5) - 2);
const B = Float32Array.from({ length: 6 }, (_, i) => i / 10);
const UP = Float32Array.from([1, 2, 3, 4]);
const DOWN = Float32Array.from([0.5, 0, 1, 0, 0.25, 2]);
const patch = (extra: Partial<WeightPatch>): WeightPatch => ({
  name: 'lora0/w',
  up: { info: { dtype: 'F16', shape: [2, 2] }, data: { kind: 'inline', bytes: bytes(float32ArrayToFloat16(UP)) } },
  down: { info: { dtype: 'F32', shape: [2, 3] }, data: { kind: 'inline', bytes: bytes(DOWN) } },
  scale: 0.5,
  rowOffset: 1,
  ...extra,
});

/** linear() over W with the patch; with `groups`, linearGroups() with one output `y<j>` [2, rows_j] per group. */
function graphWith(p: WeightPatch, name: string, groups?: number[]): string {
  const source = withWeightPatches(
    inlineWeights({ 'w.weight': { dtype: 'F32', shape: [6, 3], data: W }, 'w.bias': { dtype: 'F32', shape: [6], data: B } }),
    new Map([['w.weight', [p]]]),
  );
  const g = new GraphBuilder({ weights: source });
  const x = g.input('x', 'float32', [2, 3]);
  if (groups) linearGroups(g, x, 'w', groups).forEach((y, j) => g.output(y, `y${j}`, 'float32', [2, groups[j]!]));
  else g.output(linear(g, x, 'w'), 'y', 'float32', [2, 6]);
  const file = join(root, `${name}.onnx`);
  writeFileSync(file, g.build().bytes);
  return file;
}

/** y = x (W + factor * pad(up @ down))^T + b, in float64: the merged result. */
function merged(x: Float32Array, factor: number): number[] {
  const w = Array.from(W);
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) w[(r + 1) * 3 + c]! += factor * (UP[r * 2]! * DOWN[c]! + UP[r * 2 + 1]! * DOWN[3 + c]!);
  const y: number[] = [];
  for (let m = 0; m < 2; m++) for (let o = 0; o < 6; o++) y.push(B[o]! + [0, 1, 2].reduce((s, c) => s + x[m * 3 + c]! * w[o * 3 + c]!, 0));
  return y;
}

const X = Float32Array.from([1, -2, 0.5, 3, 0.25, -1]);

describe('LoRA patches as run-time low-rank branches (blocks.ts linear)', () => {
  it('equal the merged weight on the patched rows only, with the fixed scale', async () => {
    const s = await pool.acquire(graphWith(patch({}), 'fixed'));
    const y = (await pool.run(s, { x: Tensor.float32([2, 3], X) })).y!.data as Float32Array;
    merged(X, 0.5).forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
  });

  it('read the strength from the lora_strengths input, so one session serves every strength', async () => {
    const s = await pool.acquire(graphWith(patch({ strengthSlot: 1 }), 'slot'));
    for (const strength of [0, 1, -0.75, 2.5]) {
      const feeds = { x: Tensor.float32([2, 3], X), [LORA_STRENGTHS_INPUT]: Tensor.float32([2], Float32Array.of(9, strength)) };
      const y = (await pool.run(s, feeds)).y!.data as Float32Array;
      merged(X, 0.5 * strength).forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
    }
  });

  // The patch covers rows 1..2: across two groups, inside one group without filling it, and exactly one group.
  for (const groups of [[2, 4], [1, 1, 4], [1, 2, 3], [6]]) {
    it(`split into row groups ${groups.join(' + ')}, equal the merged weight`, async () => {
      const s = await pool.acquire(graphWith(patch({ strengthSlot: 0 }), `groups-${groups.join('-')}`, groups));
      const feeds = { x: Tensor.float32([2, 3], X), [LORA_STRENGTHS_INPUT]: Tensor.float32([1], Float32Array.of(-1.5)) };
      const outs = await pool.run(s, feeds);
      const expected = merged(X, 0.5 * -1.5);
      let first = 0;
      groups.forEach((rows, j) => {
        const y = outs[`y${j}`]!;
        expect(y.shape).toEqual([2, rows]);
        for (let m = 0; m < 2; m++) for (let r = 0; r < rows; r++) expect(y.data[m * rows + r]).toBeCloseTo(expected[m * 6 + first + r]!, 5);
        first += rows;
      });
    });
  }

  it('refuse row groups that do not add up to the outputs', () => {
    expect(() => graphWith(patch({}), 'bad-groups', [2, 3])).toThrow(/row groups 2 \+ 3 do not add up to its 6 outputs/);
  });

  it('refuse to read a patched weight any other way than through linear()', () => {
    const source = withWeightPatches(inlineWeights({ 'w.weight': { dtype: 'F32', shape: [6, 3], data: W } }), new Map([['w.weight', [patch({})]]]));
    expect(() => new GraphBuilder({ weights: source }).weight('w.weight')).toThrow(/has a LoRA patch but is not read through linear\(\)/);
  });

  it('refuses patches on keys the source lacks', () => {
    const source = inlineWeights({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    expect(() => withWeightPatches(source, new Map([['nope', []]]))).toThrow(/'nope', which is not a weight/);
  });
});
