/**
 * The /object_info contract: for every class in ComfyUI's own snapshot (test/server/fixtures/comfyui-object-info.json,
 * written by scripts/comfyui/make-object-info-snapshot.py from ComfyUI's source at the commit it records), a real
 * server's entry has the same inputs in the same order with the same types, defaults, ranges and widget options
 * (multiline, dynamicPrompts, image_upload, control_after_generate, advanced, tooltip), the same outputs, and the same
 * display name and experimental / deprecated / api_node / output_tooltips keys.
 * COMBO lists read from model or input folders are machine-dependent: they are compared by type, plus the fixed
 * entries ComfyUI lists with empty folders (VAELoader's `pixel_space`) must be offered too. Every kept
 * difference is listed in KEPT_DIFFERENCES with why (and in packages/server/README.md).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PACKS } from '../../packages/server/src/packs.ts';
import { getJson, startTestServer, type TestServer } from '../../packages/server/src/test-support/harness.ts';

interface Entry {
  input: Record<string, Record<string, unknown[]> | undefined>;
  input_order: Record<string, string[] | undefined>;
  output: string[];
  output_is_list: boolean[];
  output_name: string[];
  category: string;
  output_node: boolean;
}

const snapshot = JSON.parse(readFileSync(new URL('./fixtures/comfyui-object-info.json', import.meta.url), 'utf8')) as {
  comfyui_version: string;
  comfyui_commit: string;
  /** Inputs whose option lists ComfyUI reads from model or input folders (they change when a file is added). */
  folder_backed: Record<string, string[]>;
  object_info: Record<string, Entry>;
};

/** The classes the server must serve as ComfyUI does: every class of the snapshot (the first test holds that). */
const CHECKED_CLASSES = [
  'ImageBatch', 'ImageInvert', 'ImageCrop', 'ImageScaleToTotalPixels', 'ImageStitch', 'FluxKontextImageScale',
  'LatentUpscale', 'LatentUpscaleBy', 'LoraLoader', 'CLIPLoader',
  'PrimitiveString', 'PrimitiveStringMultiline', 'PrimitiveInt', 'PrimitiveFloat', 'PrimitiveBoolean',
  'LoadImage', 'SaveImage', 'PreviewImage', 'ImageScale', 'ImageScaleToMaxDimension',
  'CheckpointLoaderSimple', 'UNETLoader', 'DualCLIPLoader', 'VAELoader', 'CLIPVisionLoader', 'LoraLoaderModelOnly',
  'CLIPTextEncode', 'ConditioningZeroOut', 'FluxGuidance', 'ReferenceLatent', 'FluxKontextMultiReferenceLatentMethod',
  'CLIPVisionEncode', 'EmptyLatentImage', 'EmptySD3LatentImage', 'VAEEncode', 'VAEDecode', 'VAEEncodeTiled',
  'VAEDecodeTiled', 'KSampler', 'EasyCache', 'ModelPatchLoader', 'USOStyleReference',
  'SamplerCustomAdvanced', 'RandomNoise', 'DisableNoise', 'KSamplerSelect', 'BasicScheduler', 'BasicGuider', 'CFGGuider',
  'ModelSamplingFlux', 'CLIPTextEncodeFlux', 'KSamplerAdvanced', 'ConditioningCombine', 'ConditioningSetTimestepRange',
];

/**
 * Deliberate differences, by `Class.input`: the value this server declares instead of ComfyUI's, and why.
 * A COMBO's `extraOptions` are appended to ComfyUI's list; `missingOptions` are fixed entries of a folder-backed list
 * this server does not offer.
 */
const KEPT_DIFFERENCES: Record<string, { extraOptions?: string[]; missingOptions?: string[]; why: string }> = {
  'VAELoader.vae_name': {
    missingOptions: ['pixel_space'],
    why: 'no pixel-space diffusion model runs here, so there is nothing for a "no VAE" choice to feed',
  },
  'FluxKontextMultiReferenceLatentMethod.reference_latents_method': {
    extraOptions: ['uso'],
    why: "ComfyUI's own USO template stores 'uso' (ComfyUI maps any value containing uso to uxo), so it must validate",
  },
};

/** Widget options that make up an input's contract: its default, its range and how the front end shows it. */
const CONTRACT_OPTIONS = ['default', 'min', 'max', 'step', 'round', 'multiline', 'dynamicPrompts', 'image_upload', 'control_after_generate', 'advanced', 'tooltip'] as const;

interface InputContract {
  type: string;
  options?: string[];
  [key: string]: unknown;
}

/** A COMBO's option list, v1 (`[[...], {...}]`) or v3 (`['COMBO', {options}]`). */
function comboOptions(spec: unknown[]): string[] | undefined {
  const [head, opts] = spec as [unknown, Record<string, unknown> | undefined];
  if (Array.isArray(head)) return head as string[];
  return head === 'COMBO' ? (opts?.['options'] as string[]) : undefined;
}

/**
 * One input in a comparable form: v1 and v3 combos become one shape. A folder-backed combo keeps only the fixed
 * entries it must offer (`fixed`: ComfyUI's list with empty folders; for our side, those of them we offer).
 */
function inputContract(spec: unknown[], fixed: string[] | undefined): InputContract {
  const opts = (spec[1] ?? {}) as Record<string, unknown>;
  const options = comboOptions(spec);
  const out: InputContract = { type: options ? 'COMBO' : String(spec[0]) };
  if (options && fixed) out.options = fixed.filter((option) => options.includes(option));
  else if (options) out.options = options;
  for (const key of CONTRACT_OPTIONS) if (opts[key] !== undefined) out[key] = opts[key];
  return out;
}

function entryContract(name: string, entry: Entry, reference: Entry, served?: Entry) {
  const groups: Record<string, Record<string, InputContract>> = {};
  for (const group of ['required', 'optional', 'hidden']) {
    const order = entry.input_order[group];
    if (!order) continue;
    groups[group] = {};
    for (const input of order) {
      if (group === 'hidden') {
        groups[group][input] = { type: String(entry.input.hidden?.[input]) };
        continue;
      }
      const referenceSpec = reference.input[group]?.[input];
      const folderBacked = snapshot.folder_backed[name]?.includes(input) && referenceSpec;
      const contract = inputContract(entry.input[group]![input]!, folderBacked ? comboOptions(referenceSpec) : undefined);
      const kept = served ? KEPT_DIFFERENCES[`${name}.${input}`] : undefined;
      if (kept?.extraOptions) contract.options = [...contract.options!, ...kept.extraOptions];
      if (kept?.missingOptions) contract.options = contract.options!.filter((option) => !kept.missingOptions!.includes(option));
      groups[group][input] = contract;
    }
  }
  return {
    input_order: Object.fromEntries(Object.entries(entry.input_order).filter(([, v]) => v !== undefined)),
    inputs: groups,
    output: entry.output,
    output_name: entry.output_name,
    output_is_list: entry.output_is_list,
    category: entry.category,
    output_node: entry.output_node,
  };
}

let server: TestServer;
let ours: Record<string, Entry>;

beforeAll(async () => {
  server = await startTestServer({ packs: DEFAULT_PACKS, extraPacks: [] });
  ours = (await getJson(`${server.url}/object_info`)).body as Record<string, Entry>;
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

describe(`/object_info against ComfyUI ${snapshot.comfyui_version} (${snapshot.comfyui_commit.slice(0, 10)})`, () => {
  it('checks every class of the snapshot, each once', () => {
    expect([...CHECKED_CLASSES].sort()).toEqual(Object.keys(snapshot.object_info).sort());
    expect(new Set(CHECKED_CLASSES).size).toBe(CHECKED_CLASSES.length);
  });

  it.each(CHECKED_CLASSES)('%s has ComfyUI inputs, order, types, defaults, ranges and outputs', (name) => {
    const reference = snapshot.object_info[name]!;
    expect(ours, `${name} is not served`).toHaveProperty(name);
    // The kept differences are applied to ComfyUI's side, so the comparison shows what this server must serve.
    expect(entryContract(name, ours[name]!, reference)).toEqual(entryContract(name, reference, reference, ours[name]));
  });

  it.each(CHECKED_CLASSES)("%s has ComfyUI's display name and experimental, deprecated, api_node and output_tooltips keys", (name) => {
    const reference = snapshot.object_info[name]! as Entry & Record<string, unknown>;
    const served = ours[name]! as Entry & Record<string, unknown>;
    // A comfy_api node without a display name sends null there; clients show the class name, which is what we send.
    expect(served['display_name']).toBe(reference['display_name'] ?? name);
    // server.py adds these keys only when a class sets them; comfy_api (v3) nodes always carry all four.
    for (const key of ['experimental', 'deprecated', 'api_node']) expect([key, served[key]]).toEqual([key, reference[key]]);
    // LoraLoaderModelOnly inherits LoraLoader's two tooltips for its one output: compared per output slot.
    const tooltips = (entry: Record<string, unknown>) => (entry['output_tooltips'] as unknown[] | undefined)?.slice(0, entry['output'] ? (entry['output'] as unknown[]).length : 0);
    expect(tooltips(served)).toEqual(tooltips(reference));
  });

  it('every kept difference names a checked input', () => {
    for (const key of Object.keys(KEPT_DIFFERENCES)) {
      const [name, input] = key.split('.') as [string, string];
      expect(CHECKED_CLASSES).toContain(name);
      const ref = snapshot.object_info[name]!;
      expect([...(ref.input_order['required'] ?? []), ...(ref.input_order['optional'] ?? [])]).toContain(input);
    }
  });
});
