/**
 * A Hugging Face snapshot of FLUX.1-dev (model_index.json; transformer/ and text_encoder_2/ sharded with index JSONs;
 * vae/, text_encoder/, tokenizer_2/tokenizer.json; diffusers names) is one CheckpointLoaderSimple entry and loads in
 * place: the tiny real-architecture weights written in diffusers' layout give the same picture as the same weights
 * in a BFL-named single-file checkpoint. A snapshot with a missing shard or a truncated one fails at the loader with
 * a message naming the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectInfoEntry } from '../../packages/core/src/index.ts';
import { CHECKPOINT_PREFIXES, generateTinyModels, tinyTensors, writeSafetensors } from '../../packages/runtime/src/index.ts';
import { DEFAULT_PACKS, loadRegistry } from '../../packages/server/src/index.ts';
import { runWorkflow } from '../../packages/cli/src/index.ts';
import { SHIPPED_TOKENIZERS } from '../../nodes/comfy/src/text/tokenizers.ts';
import { decodeImage } from '../../nodes/image/src/index.ts';
import { channelStds } from '../support/image-metrics.ts';
import { writeTinyDiffusersSnapshot } from '../support/tiny-diffusers-snapshot.ts';
import { classOverrides, SMALL_RUN } from '../support/model-overrides.ts';
import { TINY_FILES } from '../../packages/runtime/src/index.ts';

const WORKFLOW = fileURLToPath(new URL('../../workflows/uso-style-subject.json', import.meta.url));
const SNAPSHOT = 'FLUX.1-dev-tiny';
const BFL_CHECKPOINT = 'uso-tiny-flux1-dev-bf16-f16.safetensors';

let root: string;
let models: string;
let objectInfo: Record<string, ObjectInfoEntry>;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-hf-snapshot-'));
  models = path.join(root, 'models');
  generateTinyModels(models, path.join(root, 'input'));
  writeTinyDiffusersSnapshot(path.join(models, 'checkpoints', SNAPSHOT), SHIPPED_TOKENIZERS.t5xxl);
  // The same tensors and dtypes as the snapshot, in BFL names under ComfyUI's checkpoint prefixes.
  writeSafetensors(path.join(models, 'checkpoints', BFL_CHECKPOINT), {
    ...tinyTensors('dit', 'BF16', CHECKPOINT_PREFIXES.dit),
    ...tinyTensors('vae', 'F16', CHECKPOINT_PREFIXES.vae),
    ...tinyTensors('t5', 'F16', CHECKPOINT_PREFIXES.t5),
    ...tinyTensors('clip', 'F16', CHECKPOINT_PREFIXES.clip),
  });
  objectInfo = (await loadRegistry(DEFAULT_PACKS)).objectInfo({ inputDir: path.join(root, 'input'), outputDir: root, tempDir: root, modelsDir: models });
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function overrides(workflow: unknown, checkpoint: string): string[] {
  return classOverrides(workflow, objectInfo, {
    CheckpointLoaderSimple: [`ckpt_name=${checkpoint}`],
    LoraLoaderModelOnly: [`lora_name=${path.basename(TINY_FILES.lora)}`],
    ModelPatchLoader: [`name=${path.basename(TINY_FILES.projector)}`],
    CLIPVisionLoader: [`clip_name=${path.basename(TINY_FILES.vision)}`],
    ...SMALL_RUN,
  });
}

async function pixels(file: string) {
  return (await decodeImage(fs.readFileSync(file), path.basename(file))).image;
}

/** A copy of the snapshot with `damage` applied to it, listed under `name`. */
function damagedCopy(name: string, damage: (dir: string) => void): void {
  const dir = path.join(models, 'checkpoints', name);
  fs.cpSync(path.join(models, 'checkpoints', SNAPSHOT), dir, { recursive: true });
  damage(dir);
}

describe('a Hugging Face FLUX.1-dev snapshot folder', () => {
  it('is one checkpoint entry (its component folders are not listed on their own)', () => {
    const names = objectInfo.CheckpointLoaderSimple!.input.required.ckpt_name![0] as string[];
    expect(names).toContain(SNAPSHOT);
    expect(names.filter((n) => n.startsWith(SNAPSHOT))).toEqual([SNAPSHOT]);
  });

  it('loads through CheckpointLoaderSimple and gives the picture of the same weights in BFL names', async () => {
    const workflow = JSON.parse(fs.readFileSync(WORKFLOW, 'utf8')) as unknown;
    const fromSnapshot = await runWorkflow(workflow, { dataDir: root, overrides: overrides(workflow, SNAPSHOT) });
    expect(fromSnapshot.status).toBe('success');
    const fromBfl = await runWorkflow(workflow, { dataDir: root, overrides: overrides(workflow, BFL_CHECKPOINT) });
    expect(fromBfl.status).toBe('success');
    const [a, b] = [await pixels(fromSnapshot.files[0]!), await pixels(fromBfl.files[0]!)];
    expect(a.shape).toEqual([1, 128, 128, 3]);
    expect(Math.max(...channelStds(a))).toBeGreaterThan(0.01);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
    expect(worst).toBeLessThanOrEqual(1 / 255); // the diffusers view runs q, k, v as separate Gemms: rounding only
  }, 120_000);

  it.each([
    ['a missing transformer shard', 'missing-shard', (d: string) => fs.rmSync(path.join(d, 'transformer', 'diffusion_pytorch_model-00002-of-00003.safetensors')), /diffusion_pytorch_model-00002-of-00003\.safetensors.*shard missing/s],
    ['a truncated T5 shard', 'truncated-shard', (d: string) => {
      const file = path.join(d, 'text_encoder_2', 'model-00001-of-00002.safetensors');
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    }, /model-00001-of-00002\.safetensors/],
    ['no vae folder', 'no-vae', (d: string) => fs.rmSync(path.join(d, 'vae'), { recursive: true }), /-no-vae\/vae: is missing; a FLUX diffusers snapshot needs/],
  ])('with %s fails at the loader, naming the file', async (_what, suffix, damage, message) => {
    const name = `${SNAPSHOT}-${suffix}`;
    damagedCopy(name, damage);
    const workflow = JSON.parse(fs.readFileSync(WORKFLOW, 'utf8')) as unknown;
    // runWorkflow reports a node error as a thrown, printable error (the CLI prints its message).
    const error = await runWorkflow(workflow, { dataDir: root, overrides: overrides(workflow, name) }).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/CheckpointLoaderSimple\) failed/);
    expect(error?.message).toMatch(message);
  }, 60_000);
});
