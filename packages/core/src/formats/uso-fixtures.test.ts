/**
 * The seven ComfyUI-saved USO workflows (shared/fixtures/comfyui-uso): each must parse, write back unchanged,
 * flatten its subgraphs, name exactly the classes a host lacks, and convert to a prompt whose links hold together.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import type { ApiPrompt } from '../node-api.ts';
import type { ObjectInfoEntry } from '../registry.ts';
import { MissingNodeTypesError } from './errors.ts';
import { apiToUi } from './api-to-ui.ts';
import { flattenWorkflow } from './subgraph.ts';
import { collectNodeTypes, findMissingNodeTypes, uiToApi } from './ui-to-api.ts';
import { inputSpecs, socketType, widgetLayout } from './widgets.ts';
import { detectWorkflowKind, parseWorkflow, serializeWorkflow } from './workflow.ts';
import { objectInfoWithout, usoObjectInfo } from './test-object-info.ts';

const FIXTURES = new URL('../../../../../shared/fixtures/comfyui-uso/', import.meta.url);
const load = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));

/** Classes used anywhere in examples 1-6 (listed from the files: top-level nodes plus every subgraph definition). */
const EXAMPLE_TYPES = [
  'CLIPTextEncode', 'CLIPVisionEncode', 'CLIPVisionLoader', 'CheckpointLoaderSimple', 'ConditioningZeroOut', 'EasyCache',
  'EmptyLatentImage', 'FluxGuidance', 'FluxKontextMultiReferenceLatentMethod', 'ImageScaleToMaxDimension', 'KSampler',
  'LoadImage', 'LoraLoaderModelOnly', 'MarkdownNote', 'ModelPatchLoader', 'ReferenceLatent', 'SaveImage',
  'USOStyleReference', 'VAEDecode', 'VAEEncode',
];
/** The template has no EasyCache and adds EmptySD3LatentImage. */
const TEMPLATE_TYPES = [
  'CLIPTextEncode', 'CLIPVisionEncode', 'CLIPVisionLoader', 'CheckpointLoaderSimple', 'ConditioningZeroOut',
  'EmptyLatentImage', 'EmptySD3LatentImage', 'FluxGuidance', 'FluxKontextMultiReferenceLatentMethod',
  'ImageScaleToMaxDimension', 'KSampler', 'LoadImage', 'LoraLoaderModelOnly', 'MarkdownNote', 'ModelPatchLoader',
  'ReferenceLatent', 'SaveImage', 'USOStyleReference', 'VAEDecode', 'VAEEncode',
];

interface Expectation {
  file: string;
  types: string[];
  /** Sorted ids of the prompt: active nodes only, subgraph nodes as `instance:inner`. */
  ids: string[];
  /** The KSampler's model input followed upstream, as `id:class`. */
  modelChain: string[];
  /** A node inside a subgraph instance and its class. */
  inner: [string, string];
}

const EXPECTATIONS: Expectation[] = [
  {
    file: 'example1.json',
    types: EXAMPLE_TYPES,
    ids: ['108', '109', '30', '31', '39', '40', '43', '47', '48', '51', '57:35', '57:41', '57:44', '6', '8', '9', '95'],
    modelChain: ['31:KSampler', '95:EasyCache', '43:LoraLoaderModelOnly', '30:CheckpointLoaderSimple'],
    inner: ['57:35', 'FluxGuidance'],
  },
  {
    file: 'example2.json',
    types: EXAMPLE_TYPES,
    ids: ['108', '109', '30', '31', '39', '40', '43', '47', '48', '51', '53', '55:52', '55:54', '57:35', '57:41', '57:44', '6', '8', '9', '95'],
    modelChain: ['31:KSampler', '95:EasyCache', '55:54:USOStyleReference', '43:LoraLoaderModelOnly', '30:CheckpointLoaderSimple'],
    inner: ['55:52', 'CLIPVisionEncode'],
  },
  {
    file: 'example3.json',
    types: EXAMPLE_TYPES,
    ids: ['108', '109', '30', '31', '39', '40', '43', '47', '48', '51', '57:35', '57:41', '57:44', '6', '8', '9', '95'],
    modelChain: ['31:KSampler', '95:EasyCache', '43:LoraLoaderModelOnly', '30:CheckpointLoaderSimple'],
    inner: ['57:44', 'ReferenceLatent'],
  },
  {
    file: 'example4.json',
    types: EXAMPLE_TYPES,
    ids: ['72', '73', '74', '75', '76', '77', '78', '79', '87', '88', '89:52', '89:54', '90', '92'],
    modelChain: ['78:KSampler', '92:EasyCache', '89:54:USOStyleReference', '76:LoraLoaderModelOnly', '72:CheckpointLoaderSimple'],
    inner: ['89:54', 'USOStyleReference'],
  },
  {
    file: 'example5.json',
    types: EXAMPLE_TYPES,
    ids: ['72', '73', '74', '75', '76', '77', '78', '79', '83:52', '83:54', '87', '88', '89:52', '89:54', '90', '91', '92'],
    modelChain: ['78:KSampler', '92:EasyCache', '83:54:USOStyleReference', '89:54:USOStyleReference', '76:LoraLoaderModelOnly', '72:CheckpointLoaderSimple'],
    inner: ['83:52', 'CLIPVisionEncode'],
  },
  {
    file: 'example6.json',
    types: EXAMPLE_TYPES,
    ids: ['72', '73', '74', '75', '76', '77', '78', '79', '83:52', '83:54', '87', '90', '91', '92'],
    modelChain: ['78:KSampler', '92:EasyCache', '83:54:USOStyleReference', '76:LoraLoaderModelOnly', '72:CheckpointLoaderSimple'],
    inner: ['83:54', 'USOStyleReference'],
  },
  {
    file: 'flux1_dev_uso_reference_image_gen.json',
    types: TEMPLATE_TYPES,
    ids: ['112:109', '112:110', '112:30', '112:31', '112:39', '112:40', '112:43', '112:48', '112:51', '112:57:35', '112:57:41', '112:57:44', '112:6', '112:8', '47', '9'],
    // Both style-reference subgraphs inside 112 are bypassed, so the model comes straight from the LoRA.
    modelChain: ['112:31:KSampler', '112:43:LoraLoaderModelOnly', '112:30:CheckpointLoaderSimple'],
    inner: ['112:57:35', 'FluxGuidance'],
  },
];

function modelChain(prompt: ApiPrompt, start: string): string[] {
  const chain: string[] = [];
  for (let id: string | undefined = start; id !== undefined; ) {
    const node: ApiPrompt[string] = prompt[id]!;
    chain.push(`${id}:${node.class_type}`);
    const model = node.inputs.model;
    id = Array.isArray(model) ? String(model[0]) : undefined;
  }
  return chain;
}

/** Every link names an existing node and output, and carries the type the input declares. */
function expectLinksHoldTogether(prompt: ApiPrompt, objectInfo: Record<string, ObjectInfoEntry>): number {
  let links = 0;
  for (const [id, node] of Object.entries(prompt)) {
    const specs = new Map(inputSpecs(objectInfo[node.class_type]!).map((s) => [s.name, s]));
    for (const [name, value] of Object.entries(node.inputs)) {
      if (!Array.isArray(value)) continue;
      links++;
      const [sourceId, slot] = value as [unknown, unknown];
      expect(typeof sourceId, `${id}.${name}`).toBe('string');
      const source = prompt[sourceId as string];
      expect(source, `${id}.${name} -> ${String(sourceId)}`).toBeDefined();
      const outputType = socketType(objectInfo[source!.class_type]!.output[slot as number]);
      expect(outputType, `${id}.${name}`).toBe(specs.get(name)?.type);
    }
  }
  return links;
}

describe.each(EXPECTATIONS)('$file', (expected) => {
  const json = load(expected.file);

  it('is a version 0.4 UI workflow with subgraph definitions that writes back unchanged', () => {
    expect(detectWorkflowKind(json)).toBe('ui');
    const workflow = parseWorkflow(json);
    expect(workflow.sourceVersion).toBe(0.4);
    expect(workflow.subgraphs?.length).toBeGreaterThan(0);
    expect(JSON.stringify(serializeWorkflow(workflow))).toBe(JSON.stringify(json));
  });

  it('lists the node classes it uses', () => {
    expect(collectNodeTypes(json)).toEqual(expected.types);
  });

  it('saves exactly one value per widget position the layout predicts', () => {
    const info = usoObjectInfo();
    const workflow = parseWorkflow(json);
    const nodes = [...workflow.nodes, ...(workflow.subgraphs ?? []).flatMap((s) => s.nodes)];
    let checked = 0;
    for (const node of nodes) {
      const entry = info[node.type];
      if (!entry) continue;
      expect(node.widgets_values, `${node.type} ${String(node.id)}`).toHaveLength(widgetLayout(entry).length);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('flattens its subgraphs into instance:inner ids', () => {
    const flat = flattenWorkflow(json);
    const [innerId, innerType] = expected.inner;
    expect(flat.byId.get(innerId)?.type).toBe(innerType);
    // No active subgraph instance survives flattening; inert ones stay whole.
    for (const node of flat.nodes) if (node.subgraph) expect([2, 4]).toContain(node.mode);
    expect(flat.nodes.some((n) => n.id.includes(':'))).toBe(true);
  });

  it('names exactly the USO classes when the host lacks them', () => {
    const info = objectInfoWithout('USOStyleReference', 'ModelPatchLoader');
    expect(findMissingNodeTypes(json, info)).toEqual(['ModelPatchLoader', 'USOStyleReference']);
    let caught: unknown;
    try {
      uiToApi(json, info);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MissingNodeTypesError);
    expect((caught as MissingNodeTypesError).types).toEqual(['ModelPatchLoader', 'USOStyleReference']);
  });

  it('names every class when the host has none (front-end-only notes excepted)', () => {
    expect(() => uiToApi(json, {})).toThrow(MissingNodeTypesError);
    expect(findMissingNodeTypes(json, {})).toEqual(expected.types.filter((t) => t !== 'MarkdownNote'));
  });

  it('converts to a prompt with the right nodes and links', () => {
    const info = usoObjectInfo();
    const { prompt } = uiToApi(json, info);
    expect(Object.keys(prompt).sort()).toEqual(expected.ids);
    expect(expectLinksHoldTogether(prompt, info)).toBeGreaterThan(10);
    const sampler = expected.modelChain[0]!.split(':KSampler')[0]!;
    expect(modelChain(prompt, sampler)).toEqual(expected.modelChain);
    for (const node of Object.values(prompt)) expect(node._meta?.title).toBeTruthy();
    // The seed's control value ('randomize') is never sent; steps follows the seed.
    expect(prompt[sampler]!.inputs.steps).toBe(20);
    expect(Object.values(prompt[sampler]!.inputs)).not.toContain('randomize');
  });

  it('survives prompt -> UI -> prompt', () => {
    const info = usoObjectInfo();
    const { prompt } = uiToApi(json, info);
    expect(uiToApi(apiToUi(prompt, info), info).prompt).toEqual(prompt);
  });
});

describe('promoted subgraph widgets in the fixtures', () => {
  it('sends the text and size set on the template subgraph instance to the inner nodes', () => {
    const { prompt } = uiToApi(load('flux1_dev_uso_reference_image_gen.json'), usoObjectInfo());
    expect(prompt['112:6']!.inputs.text).toBe(
      'A European girl with a heartfelt smile. She is immersed in a vast, endless field of blooming flowers under a perfect summer sky.',
    );
    expect(prompt['112:110']!.inputs).toMatchObject({ width: 1024, height: 1024, batch_size: 1 });
    expect(prompt['112:57:35']!.inputs.guidance).toBe(3.5);
    expect(prompt['112:109']!.inputs.image).toEqual(['47', 0]);
  });
});
