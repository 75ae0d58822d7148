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
import { FLUX_CASES, LORA_STRENGTHS, TINY_FLUX, fluxCaseInputs, tinyFluxFile, tinyFluxLora, type FluxFixtureDType } from './flux-dit-cases.ts';
import { LORA_STRENGTHS_INPUT } from '../../onnx/graph-builder.ts';
import type { WeightPatch } from '../../onnx/weights.ts';
import { Tensor } from '../../tensor/tensor.ts';
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

  it('LoRA as a run-time branch equals the torch merged weights, strengths fed as an input to one session', async () => {
    const loraFile = join(dir, 'tiny-lora.safetensors');
    const lora = tinyFluxLora(TINY_FLUX);
    writeSafetensors(loraFile, lora.tensors);
    const header = readSafetensorsHeader(loraFile);
    const part = (key: string): WeightPatch['up'] => {
      const t = header.tensors.get(key)!;
      return { info: { dtype: t.dtype, shape: t.shape }, data: { kind: 'external', file: header.path, offset: t.offset, length: t.length } };
    };
    const patches = new Map<string, WeightPatch[]>(
      lora.targets.map((t) => [
        `${t.module}.weight`,
        [{ name: `lora0/${t.module}`, up: part(`${t.module}.lora_up.weight`), down: part(`${t.module}.lora_down.weight`), scale: 0.5, strengthSlot: 0 }],
      ]),
    );
    const file = join(dir, 'tiny-F32.safetensors');
    writeSafetensors(file, tinyFluxFile(TINY_FLUX, 'F32').tensors);
    const graph = await loadModelGraph(file, 'dit', join(dir, 'graphs'), defaultArchitectures(), { weightPatches: patches, patchKey: loraFile });
    const session = await pool.acquire(graph, { disablePrepacking: true });
    let compared = 0;
    for (const [i, strength] of LORA_STRENGTHS.entries()) {
      for (const k of FLUX_CASES) {
        const key = `lora${i}/${k.name}/velocity`;
        if (!fixture.tensors.has(key)) continue;
        const feeds = { ...fluxCaseInputs(TINY_FLUX, k), [LORA_STRENGTHS_INPUT]: Tensor.float32([1], Float32Array.of(strength)) };
        const out = await pool.run(session, feeds);
        expect(maxAbsDiff(out.velocity!.data as Float32Array, expected(key)), key).toBeLessThan(2e-5);
        // The LoRA really changes the output (so the comparison above is not vacuous).
        const plain = await pool.run(session, { ...feeds, [LORA_STRENGTHS_INPUT]: Tensor.float32([1], Float32Array.of(0)) });
        expect(maxAbsDiff(plain.velocity!.data as Float32Array, expected(key))).toBeGreaterThan(1e-2);
        compared++;
      }
    }
    expect(compared).toBe(4);
  });
});
