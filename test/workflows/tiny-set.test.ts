/**
 * Every shipped workflow and every ComfyUI USO fixture through the REAL architectures: the tiny real-architecture set
 * (`uso-studio models tiny`: FLUX DiT, FLUX VAE, T5, CLIP-L, SigLIP, USO LoRA and projector at toy widths with random
 * weights) swapped in by `--set`, run headless by the CLI's runWorkflow with real onnxruntime. Random weights give
 * noise, so the checks are that every node runs, the output has the asked size and is not flat, a seed changes it,
 * and a PNG run again gives the same pixels.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectInfoEntry } from '../../packages/core/src/index.ts';
import { TINY_FILES, generateTinyModels } from '../../packages/runtime/src/index.ts';
import { DEFAULT_PACKS, loadRegistry } from '../../packages/server/src/index.ts';
import { runWorkflow } from '../../packages/cli/src/index.ts';
import { decodeImage } from '../../nodes/image/src/index.ts';
import { channelStds } from '../support/image-metrics.ts';
import { SMALL_RUN, classOverrides } from '../support/model-overrides.ts';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/comfyui-uso', import.meta.url));
const shipped = fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith('.json')).sort();
const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
const base = (rel: string) => path.basename(rel);

let root: string;
let objectInfo: Record<string, ObjectInfoEntry>;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-tiny-run-'));
  generateTinyModels(path.join(root, 'models'), path.join(root, 'input'));
  objectInfo = (await loadRegistry(DEFAULT_PACKS)).objectInfo({
    inputDir: path.join(root, 'input'), outputDir: root, tempDir: root, modelsDir: path.join(root, 'models'),
  });
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Tiny file names for every loader, CI sizes; DualCLIPLoader, UNETLoader and VAELoader take the split files. */
function tinyOverrides(workflow: unknown, extra: Record<string, string[]> = {}): string[] {
  return classOverrides(workflow, objectInfo, {
    CheckpointLoaderSimple: [`ckpt_name=${base(TINY_FILES.checkpoint)}`],
    UNETLoader: [`unet_name=${base(TINY_FILES.dit)}`],
    VAELoader: [`vae_name=${base(TINY_FILES.vae)}`],
    DualCLIPLoader: [`clip_name1=${base(TINY_FILES.t5)}`, `clip_name2=${base(TINY_FILES.clip)}`],
    LoraLoaderModelOnly: [`lora_name=${base(TINY_FILES.lora)}`],
    ModelPatchLoader: [`name=${base(TINY_FILES.projector)}`],
    CLIPVisionLoader: [`clip_name=${base(TINY_FILES.vision)}`],
    ...SMALL_RUN,
    ...extra,
  });
}

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

async function outputImage(file: string) {
  return (await decodeImage(fs.readFileSync(file), path.basename(file))).image;
}

describe('the tiny real-architecture set runs every workflow', () => {
  it.each(shipped)('shipped workflow %s', async (name) => {
    const workflow = readJson(path.join(WORKFLOWS, name));
    const result = await runWorkflow(workflow, { dataDir: root, overrides: tinyOverrides(workflow) });
    expect(result.status).toBe('success');
    const image = await outputImage(result.files[0]!);
    expect(image.shape).toEqual([1, 128, 128, 3]);
    expect(Math.max(...channelStds(image))).toBeGreaterThan(0.01);
  });

  it.each(fixtures)('ComfyUI fixture %s', async (name) => {
    const workflow = readJson(path.join(FIXTURES, name));
    const overrides = tinyOverrides(workflow, { LoadImage: ['image=uso-demo-style-b.png'] });
    const result = await runWorkflow(workflow, { dataDir: root, overrides });
    expect(result.status).toBe('success');
    const image = await outputImage(result.files[0]!);
    expect(image.shape).toEqual([1, 128, 128, 3]);
    expect(Math.max(...channelStds(image))).toBeGreaterThan(0.01);
  });

  it('an output PNG carries its workflow, and running that PNG again gives the same pixels; another seed does not', async () => {
    const workflow = readJson(path.join(WORKFLOWS, 'uso-style-subject.json'));
    const first = await runWorkflow(workflow, { dataDir: root, overrides: tinyOverrides(workflow) });
    const again = await runWorkflow(first.files[0]!, { dataDir: root });
    expect(again.status).toBe('success');
    const [a, b] = [await outputImage(first.files[0]!), await outputImage(again.files[0]!)];
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    const other = await runWorkflow(workflow, { dataDir: root, overrides: tinyOverrides(workflow, { KSampler: ['steps=3', 'seed=7'] }) });
    const c = await outputImage(other.files[0]!);
    expect(Buffer.from(c.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(false);
  }, 120_000); // three whole runs
});
