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
import { COMFY_REFERENCE_CASES, USO_REFERENCE_CASES, promptEmbeddings, referenceImage, type UsoReferenceCase } from '../src/uso-reference-cases.ts';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'uso-reference-'));

/** IMAGE [1, H, W, 3] -> [1, 3, H, W] as torch takes it. */
function nchw(name: string): SafetensorsTensorInput {
  const image = referenceImage(name);
  const [, h, w] = image.shape as [number, number, number, number];
  const data = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) data[c * h * w + p] = image.data[p * 3 + c]!;
  return { dtype: 'F32', shape: [1, 3, h, w], data };
}

function caseInputs(c: UsoReferenceCase, settings: number[]): Record<string, SafetensorsTensorInput> {
  const { txt, vec } = promptEmbeddings(c);
  const inputs: Record<string, SafetensorsTensorInput> = {
    [`${c.name}/settings`]: { dtype: 'F32', shape: [settings.length], data: Float32Array.from(settings) },
    [`${c.name}/txt`]: { dtype: 'F32', shape: txt.shape, data: txt.data },
    [`${c.name}/vec`]: { dtype: 'F32', shape: vec.shape, data: vec.data },
  };
  c.styles.forEach((s, i) => (inputs[`${c.name}/style${i}`] = nchw(s)));
  c.subjects.forEach((s, i) => (inputs[`${c.name}/subject${i}`] = nchw(s)));
  return inputs;
}

/** Runs one torch script on the cases' inputs and writes its outputs as the fixture `out`. */
function reference(script: string, models: string, inputs: Record<string, SafetensorsTensorInput>, out: string, madeBy: string): void {
  const inputFile = join(tmp, 'inputs.safetensors');
  const resultFile = join(tmp, 'result.safetensors');
  writeSafetensors(inputFile, inputs);
  execFileSync('/usr/bin/python3', [join(here, script), models, inputFile, resultFile], { stdio: 'inherit' });
  const header = readSafetensorsHeader(resultFile);
  const fixture: Record<string, SafetensorsTensorInput> = {};
  for (const key of header.tensors.keys()) fixture[key] = { dtype: 'F32', shape: header.tensors.get(key)!.shape, data: readTensorFloat32(header, key) };
  mkdirSync(dirname(out), { recursive: true });
  writeSafetensors(out, fixture, { made_by: madeBy });
  console.log('wrote', out, Object.keys(fixture).length, 'tensors');
}

try {
  const models = join(tmp, 'models');
  generateTinyModels(models);
  reference(
    'uso_reference.py',
    models,
    Object.assign({}, ...USO_REFERENCE_CASES.map((c) => caseInputs(c, [c.seed, c.width, c.height, c.steps, c.guidance]))),
    join(here, '../src/fixtures/uso-reference.safetensors'),
    'nodes/uso/scripts/uso_reference.py (torch, float32) on the tiny set of generateTinyModels',
  );
  reference(
    'comfy_uso_reference.py',
    models,
    Object.assign({}, ...COMFY_REFERENCE_CASES.map((c) => caseInputs(c, [c.seed, c.width, c.height, c.steps, c.guidance, ...(c.easyCache ?? [-1, 0, 0])]))),
    join(here, '../src/fixtures/comfy-uso-reference.safetensors'),
    'nodes/uso/scripts/comfy_uso_reference.py (torch, float32) on the tiny set of generateTinyModels',
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
