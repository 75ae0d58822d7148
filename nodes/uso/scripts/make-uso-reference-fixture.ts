/**
 * DEV-ONLY: regenerates nodes/uso/src/fixtures/uso-reference.safetensors, the output latents of the independent PyTorch
 * implementation of USO's inference procedure (scripts/uso_reference.py, Debian's python3-torch 1.13) for the cases
 * of src/uso-reference-cases.ts, on the tiny real-architecture set that `generateTinyModels` writes (its weights are
 * seeded by tensor name, so the test regenerates the same files). The fixture holds only torch's latents.
 *
 * Run: npx tsx nodes/uso/scripts/make-uso-reference-fixture.ts
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTinyModels, readSafetensorsHeader, readTensorFloat32, writeSafetensors, type SafetensorsTensorInput } from '@uso-studio/runtime';
import { USO_REFERENCE_CASES, promptEmbeddings, referenceImage } from '../src/uso-reference-cases.ts';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../src/fixtures/uso-reference.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'uso-reference-'));

/** IMAGE [1, H, W, 3] -> [1, 3, H, W] as torch takes it. */
function nchw(name: string): SafetensorsTensorInput {
  const image = referenceImage(name);
  const [, h, w] = image.shape as [number, number, number, number];
  const data = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) data[c * h * w + p] = image.data[p * 3 + c]!;
  return { dtype: 'F32', shape: [1, 3, h, w], data };
}

try {
  const models = join(tmp, 'models');
  generateTinyModels(models);
  const inputs: Record<string, SafetensorsTensorInput> = {};
  for (const c of USO_REFERENCE_CASES) {
    const { txt, vec } = promptEmbeddings(c);
    inputs[`${c.name}/settings`] = { dtype: 'F32', shape: [5], data: Float32Array.of(c.seed, c.width, c.height, c.steps, c.guidance) };
    inputs[`${c.name}/txt`] = { dtype: 'F32', shape: txt.shape, data: txt.data };
    inputs[`${c.name}/vec`] = { dtype: 'F32', shape: vec.shape, data: vec.data };
    c.styles.forEach((s, i) => (inputs[`${c.name}/style${i}`] = nchw(s)));
    c.subjects.forEach((s, i) => (inputs[`${c.name}/subject${i}`] = nchw(s)));
  }
  const inputFile = join(tmp, 'inputs.safetensors');
  const resultFile = join(tmp, 'result.safetensors');
  writeSafetensors(inputFile, inputs);
  execFileSync('/usr/bin/python3', [join(here, 'uso_reference.py'), models, inputFile, resultFile], { stdio: 'inherit' });
  const header = readSafetensorsHeader(resultFile);
  const fixture: Record<string, SafetensorsTensorInput> = {};
  for (const key of header.tensors.keys()) fixture[key] = { dtype: 'F32', shape: header.tensors.get(key)!.shape, data: readTensorFloat32(header, key) };
  mkdirSync(dirname(out), { recursive: true });
  writeSafetensors(out, fixture, { made_by: `nodes/uso/scripts/uso_reference.py (torch, float32) on the tiny set of generateTinyModels` });
  console.log('wrote', out, Object.keys(fixture).length, 'latents');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
