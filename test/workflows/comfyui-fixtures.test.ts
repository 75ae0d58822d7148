/**
 * The seven ComfyUI-saved USO workflows (shared/fixtures/comfyui-uso beside the repository, read in place) through the CLI's
 * runWorkflow: with their own model names they fail with a message that lists the model files they need under their
 * folders; with the demo files swapped in through overrides (and small sizes and few steps) each one runs.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uiToApi, type ObjectInfoEntry } from '../../packages/core/src/index.ts';
import { generateDemoModels } from '../../packages/runtime/src/index.ts';
import { DEFAULT_PACKS, loadRegistry } from '../../packages/server/src/index.ts';
import { runWorkflow, WorkflowRunError } from '../../packages/cli/src/index.ts';
import { decodeImage } from '../../nodes/image/src/index.ts';
import { channelStds } from '../support/image-metrics.ts';
import { SMALL_RUN, classOverrides } from '../support/model-overrides.ts';

// shared/ sits beside the repository (CI lays a copy there); tests read it in place.
const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/comfyui-uso', import.meta.url));
const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
let root: string;
let objectInfo: Record<string, ObjectInfoEntry>;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-fixtures-run-'));
  await generateDemoModels(path.join(root, 'models'), path.join(root, 'input'));
  objectInfo = (await loadRegistry(DEFAULT_PACKS)).objectInfo({
    inputDir: path.join(root, 'input'), outputDir: root, tempDir: root, modelsDir: path.join(root, 'models'),
  });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const readFixture = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));

/** Demo names and CI sizes, set by class type for the classes this workflow actually runs. */
function demoOverrides(file: string): string[] {
  return classOverrides(readFixture(file), objectInfo, {
    CheckpointLoaderSimple: ['ckpt_name=uso-demo-flux-checkpoint.safetensors'],
    LoraLoaderModelOnly: ['lora_name=uso-demo-dit-lora.safetensors'],
    ModelPatchLoader: ['name=uso-demo-projector.safetensors'],
    CLIPVisionLoader: ['clip_name=uso-demo-siglip-vision.safetensors'],
    LoadImage: ['image=uso-demo-style-b.png'],
    ...SMALL_RUN,
  });
}

const NEEDED = [
  'models/checkpoints/flux1-dev-fp8.safetensors',
  'models/loras/uso-flux1-dit-lora-v1.safetensors',
  'models/model_patches/uso-flux1-projector-v1.safetensors',
  'models/clip_vision/sigclip_vision_patch14_384.safetensors',
];

describe('ComfyUI USO workflows run headless', () => {
  it('are all there', () => {
    expect(files).toHaveLength(7);
  });

/** Runs a workflow expecting a validation failure; returns its message and the model files and input images it lists. */
async function missingFiles(workflow: unknown): Promise<{ message: string; listed: string[]; images: string[] }> {
  const error = await runWorkflow(workflow, { dataDir: root }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowRunError);
  const message = (error as Error).message;
  const [, list = ''] = message.split('Model files it needs that are not in the models folder:\n');
  const [, images = ''] = message.split(/Input images it needs that are not in the input folder[^\n]*\n/);
  const section = (text: string) => text.split('\n').filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('  '))).map((l) => l.trim());
  return { message, listed: section(list), images: section(images) };
}

  it.each(files)('%s without its models fails naming the files it needs', async (file) => {
    const { message, listed, images } = await missingFiles(readFixture(file));
    // Like ComfyUI, only what the outputs depend on is validated: example1, example3 and the template (whose style
    // subgraphs are bypassed) have a projector and SigLIP loader that nothing uses, so they need only two files.
    const { prompt } = uiToApi(readFixture(file), objectInfo, { random: () => 0 });
    const styled = Object.values(prompt).some((n) => n.class_type === 'USOStyleReference');
    expect(listed).toEqual(styled ? NEEDED.slice().sort() : [NEEDED[0], NEEDED[1]].sort());
    // Readable: one line per problem, each naming the node, the input and the value.
    for (const line of message.split('\n')) expect(line.length, line).toBeLessThan(240);
    expect(message).toMatch(/node \d+(:\d+)* \(CheckpointLoaderSimple\): Value not in list — ckpt_name: 'flux1-dev-fp8.safetensors'/);
    // The input pictures it needs are listed too, each one a LoadImage error above.
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(message).toContain(`(LoadImage): Custom validation failed for node — image - Invalid image file: ${image}`);
  });

  it("the template with its style subgraph switched on needs all four files", async () => {
    const template = readFixture('flux1_dev_uso_reference_image_gen.json') as { definitions: { subgraphs: Array<{ nodes: Array<{ id: number; mode: number }> }> } };
    const styleNodes = template.definitions.subgraphs.flatMap((d) => d.nodes).filter((n) => n.id === 55);
    expect(styleNodes).toHaveLength(1);
    styleNodes[0]!.mode = 0; // what Ctrl+B on the bypassed "USOStyleReference" subgraph node does
    const { listed } = await missingFiles(template);
    expect(listed).toEqual(NEEDED.slice().sort());
  });

  it.each(files)('%s runs with the demo files swapped in', async (file) => {
    const result = await runWorkflow(readFixture(file), { dataDir: root, overrides: demoOverrides(file) });
    expect(result.status).toBe('success');
    expect(result.files.length).toBeGreaterThanOrEqual(1);
    const image = (await decodeImage(fs.readFileSync(result.files[0]!), 'out.png')).image;
    expect(image.shape).toEqual([1, 128, 128, 3]);
    // A real picture, not a flat fill: the subject or text pattern gives it spread.
    expect(Math.max(...channelStds(image))).toBeGreaterThan(0.02);
  });
});
