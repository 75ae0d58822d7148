/**
 * DEV-ONLY: regenerates src/models/architectures/fixtures/flux-dit-reference.safetensors, the outputs of the
 * independent PyTorch FLUX DiT (scripts/flux_dit_reference.py, Debian's python3-torch 1.13) on the tiny config of
 * flux-dit-cases.ts. Weights are seeded by tensor name (F32, BF16, F16, F8_E4M3), inputs by case name, so the tests
 * rebuild the same inputs without Python. The fixture holds only the reference outputs.
 *
 * Run: npx tsx packages/runtime/scripts/make-flux-dit-fixtures.ts
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsHeader } from '../src/safetensors/header.ts';
import { readTensorFloat32 } from '../src/safetensors/read-data.ts';
import { writeSafetensors, type SafetensorsTensorInput } from '../src/safetensors/writer.ts';
import {
  FLUX_CASES, LORA_STRENGTHS, TINY_FLUX, fluxCaseInputs, tinyFluxFile, tinyFluxLora, type FluxCase, type FluxFixtureDType,
} from '../src/models/architectures/flux-dit-cases.ts';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../src/models/architectures/fixtures/flux-dit-reference.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'flux-fixtures-'));

/** Cases per stored dtype: all twelve in F32, a batch-1 and a batch-2 case with styles and a reference in the others. */
const DTYPE_CASES: Record<FluxFixtureDType, readonly FluxCase[]> = {
  F32: FLUX_CASES,
  BF16: FLUX_CASES.filter((k) => k.name === 'b1-s1-r1' || k.name === 'b2-s2-r1'),
  F16: FLUX_CASES.filter((k) => k.name === 'b1-s1-r1' || k.name === 'b2-s2-r1'),
  F8_E4M3: FLUX_CASES.filter((k) => k.name === 'b1-s1-r1' || k.name === 'b2-s2-r1'),
};

function writeInputs(file: string, cases: readonly FluxCase[], strength?: number): void {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const k of cases) {
    for (const [name, t] of Object.entries(fluxCaseInputs(TINY_FLUX, k))) {
      tensors[`${k.name}/${name}`] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
    }
    if (strength !== undefined) tensors[`${k.name}/lora_strength`] = { dtype: 'F32', shape: [], data: Float32Array.of(strength) };
  }
  writeSafetensors(file, tensors);
}

function reference(weights: string, inputs: string, lora?: string): Record<string, Float32Array> {
  const result = join(tmp, 'result.safetensors');
  execFileSync('/usr/bin/python3', [join(here, 'flux_dit_reference.py'), 'run', weights, inputs, result, ...(lora ? [lora] : [])], { stdio: 'inherit' });
  const header = readSafetensorsHeader(result);
  return Object.fromEntries([...header.tensors.keys()].map((k) => [k, readTensorFloat32(header, k)]));
}

const fixture: Record<string, SafetensorsTensorInput> = {};
const shapes = new Map(FLUX_CASES.map((k) => [k.name, [k.batch, 16, 64]]));
try {
  for (const dtype of Object.keys(DTYPE_CASES) as FluxFixtureDType[]) {
    const weights = join(tmp, `weights-${dtype}.safetensors`);
    writeSafetensors(weights, tinyFluxFile(TINY_FLUX, dtype).tensors);
    const inputs = join(tmp, `inputs-${dtype}.safetensors`);
    writeInputs(inputs, DTYPE_CASES[dtype]);
    for (const [k, v] of Object.entries(reference(weights, inputs))) {
      fixture[`${dtype}/${k}`] = { dtype: 'F32', shape: shapes.get(k.split('/')[0]!)!, data: v };
    }
  }
  const weights = join(tmp, 'weights-F32.safetensors');
  const lora = join(tmp, 'lora.safetensors');
  writeSafetensors(lora, tinyFluxLora(TINY_FLUX).tensors);
  const loraCases = FLUX_CASES.filter((k) => k.name === 'b1-s1-r1' || k.name === 'b2-s2-r0');
  LORA_STRENGTHS.forEach((strength, i) => {
    const inputs = join(tmp, `inputs-lora${i}.safetensors`);
    writeInputs(inputs, loraCases, strength);
    for (const [k, v] of Object.entries(reference(weights, inputs, lora))) {
      fixture[`lora${i}/${k}`] = { dtype: 'F32', shape: shapes.get(k.split('/')[0]!)!, data: v };
    }
  });
  writeSafetensors(out, fixture, {
    source: 'scripts/flux_dit_reference.py (PyTorch 1.13, float32) on the tiny config of flux-dit-cases.ts',
  });
  console.log(`wrote ${out} (${Object.keys(fixture).length} tensors)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
