import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionPool } from '../../session/session-pool.ts';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { readTensorFloat32 } from '../../safetensors/read-data.ts';
import { writeSafetensors } from '../../safetensors/writer.ts';
import { loadModelGraph } from '../loader.ts';
import { defaultArchitectures } from './index.ts';
import { FLUX_CASES, TINY_FLUX, fluxCaseInputs, tinyFluxFile, type FluxFixtureDType } from './flux-dit-cases.ts';
import { runGraph, tempDir } from './test-support.ts';

const dir = tempDir('flux-dit');
const pool = new SessionPool({ log: () => {} });
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const fixture = readSafetensorsHeader(fileURLToPath(new URL('./fixtures/flux-dit-reference.safetensors', import.meta.url)));
const expected = (key: string) => readTensorFloat32(fixture, key);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function load(dtype: FluxFixtureDType) {
  const file = join(dir, `tiny-${dtype}.safetensors`);
  writeSafetensors(file, tinyFluxFile(TINY_FLUX, dtype).tensors);
  return loadModelGraph(file, 'dit', join(dir, 'graphs'), defaultArchitectures());
}

describe('flux-dit: parity with the independent PyTorch implementation (tiny config, every feature on)', () => {
  // Each stored dtype is compared with the reference run on the same rounded weights, so the bound is the float32
  // one for all four: the graph casts the stored values exactly and computes in float32. The issue asks for 1e-4;
  // measured here about 2e-6 (torch float32 against float64 differs by as much), so 2e-5 still leaves a margin.
  for (const dtype of ['F32', 'BF16', 'F16', 'F8_E4M3'] as const) {
    it(`${dtype} weights: every case within 2e-5 (max abs)`, async () => {
      const graph = await load(dtype);
      expect(graph.architecture).toBe('flux-dit');
      expect(graph.config).toMatchObject({ hidden: 64, heads: 2, doubleBlocks: 2, singleBlocks: 2, guidanceEmbed: true, axesDim: [4, 14, 14] });
      const cases = FLUX_CASES.filter((k) => fixture.tensors.has(`${dtype}/${k.name}/velocity`));
      expect(cases.length).toBe(dtype === 'F32' ? 12 : 2);
      for (const k of cases) {
        const out = await runGraph(pool, graph, fluxCaseInputs(TINY_FLUX, k));
        expect(out.velocity!.shape).toEqual([k.batch, 16, 64]);
        const want = expected(`${dtype}/${k.name}/velocity`);
        expect(maxAbsDiff(out.velocity!.data as Float32Array, want), `${dtype} ${k.name}`).toBeLessThan(2e-5);
      }
    });
  }
});
