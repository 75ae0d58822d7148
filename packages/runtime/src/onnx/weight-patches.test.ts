import { describe, it, expect, afterAll } from 'vitest';
import { GraphBuilder } from './graph-builder.ts';
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

/** Reads W back through the graph: y = W (an Identity of the patched weight). */
async function readWeight(patches: Map<string, WeightPatch[]>, name: string): Promise<Float32Array> {
  const w = Float32Array.from({ length: 6 * 3 }, (_, i) => i); // W [6, 3]
  const source = withWeightPatches(inlineWeights({ w: { dtype: 'F32', shape: [6, 3], data: w } }), patches);
  const g = new GraphBuilder({ weights: source });
  const x = g.input('x', 'float32', [1]);
  g.output(g.add(g.weight('w'), g.mul(x, g.scalar(0))), 'y', 'float32', [6, 3]);
  const file = join(root, `${name}.onnx`);
  writeFileSync(file, g.build().bytes);
  const s = await pool.acquire(file);
  return (await pool.run(s, { x: Tensor.float32([1], new Float32Array(1)) })).y!.data as Float32Array;
}

describe('weight patches (LoRA) in the graph builder', () => {
  it('add scale * (up @ down) to the patched rows only, from float16 factors too', async () => {
    const up = Float32Array.from([1, 2, 3, 4]); // [2, 2]
    const down = Float32Array.from([0.5, 0, 1, 0, 0.25, 2]); // [2, 3]
    const patch: WeightPatch = {
      name: 'lora0/w',
      up: { info: { dtype: 'F16', shape: [2, 2] }, data: { kind: 'inline', bytes: bytes(float32ArrayToFloat16(up)) } },
      down: { info: { dtype: 'F32', shape: [2, 3] }, data: { kind: 'inline', bytes: bytes(down) } },
      scale: 0.5,
      rowOffset: 1,
    };
    const y = await readWeight(new Map([['w', [patch]]]), 'rows');
    const want = Float32Array.from({ length: 18 }, (_, i) => i);
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        const delta = up[r * 2]! * down[c]! + up[r * 2 + 1]! * down[3 + c]!;
        want[(r + 1) * 3 + c]! += 0.5 * delta;
      }
    }
    expect(Array.from(y)).toEqual(Array.from(want));
  });

  it('refuses patches on keys the source lacks', () => {
    const source = inlineWeights({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    expect(() => withWeightPatches(source, new Map([['nope', []]]))).toThrow(/'nope', which is not a weight/);
  });
});
