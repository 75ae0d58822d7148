// @vitest-environment jsdom
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { findMissingNodeTypes, uiToApi } from './formats.ts';
import { GraphEditor, type UiWorkflow } from './litegraph-adapter.ts';
import { testObjectInfo, useStubbedCanvas } from './test-support.ts';

// shared/ sits beside the repository (CI lays a copy there); tests read it in place.
// (A path, not a URL: under jsdom the global URL is jsdom's, which node:url and node:fs do not accept.)
const TEMPLATE = resolve(import.meta.dirname, '../../../../../shared/fixtures/comfyui-uso/flux1_dev_uso_reference_image_gen.json');
const info = testObjectInfo();
let editor: GraphEditor;
let changes = 0;

useStubbedCanvas();
afterAll(() => editor?.destroy());

beforeEach(() => {
  editor?.destroy();
  const canvas = document.createElement('canvas');
  document.body.appendChild(canvas);
  changes = 0;
  editor = new GraphEditor(canvas, { onChange: () => changes++, inputImageUrl: (n) => `/api/view?filename=${n}&type=input` }, document.createElement('div'));
  editor.registerNodeTypes(info);
  editor.resize(800, 600);
});

const widgetNames = (node: { widgets?: { name: string }[] }) => (node.widgets ?? []).map((w) => w.name);

describe('node registration from /object_info', () => {
  it('gives a KSampler its widgets in widgets_values order, with the seed control after the seed', () => {
    const node = editor.addNode('KSampler', [0, 0])!;
    expect(node.title).toBe('KSampler');
    expect(widgetNames(node)).toEqual(['seed', 'control_after_generate', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise']);
    expect(node.outputs.map((o) => [o.name, o.type])).toEqual([['LATENT', 'LATENT']]);
    // Every widget keeps a socket so it can be converted into an input.
    const seedSlot = node.inputs.find((i) => i.name === 'seed');
    expect(seedSlot?.widget?.name).toBe('seed');
    expect(node.inputs.filter((i) => !i.widget).map((i) => i.name)).toEqual(['model', 'positive', 'negative', 'latent_image']);
  });

  it('applies min, max and step to number widgets', () => {
    const node = editor.addNode('EmptyLatentImage', [0, 0])!;
    const width = node.widgets!.find((w) => w.name === 'width')!;
    expect(width.value).toBe(512);
    width.callback?.(20000);
    expect(width.value).toBe(16384);
    width.callback?.(517);
    expect(width.value).toBe(520);
    const cfg = editor.addNode('KSampler', [0, 0])!.widgets!.find((w) => w.name === 'cfg')!;
    cfg.callback?.(7.4567);
    expect(cfg.value).toBeCloseTo(7.46, 5);
  });

  it('gives LoadImage an upload button after its combo and shows the chosen image', () => {
    const node = editor.addNode('LoadImage', [0, 0])!;
    expect(widgetNames(node)).toEqual(['image', 'upload']);
    expect(node.widgets![1]!.value).toBe('image');
    expect(node.size[1]).toBeGreaterThan(200);
  });

  it('makes a multiline STRING a tall text area widget and a BOOLEAN a toggle', () => {
    const clip = editor.addNode('CLIPTextEncode', [0, 0])!;
    expect(clip.widgets![0]!.type).toBe('customtext');
    const cache = editor.addNode('EasyCache', [0, 0])!;
    expect(cache.widgets!.find((w) => w.name === 'verbose')!.type).toBe('toggle');
  });

  it('refuses links between mismatched types and accepts matching ones', () => {
    const loader = editor.addNode('CheckpointLoaderSimple', [0, 0])!;
    const sampler = editor.addNode('KSampler', [300, 0])!;
    expect(loader.connect(2, sampler, 0)).toBeNull(); // VAE -> model
    expect(loader.connect(0, sampler, 0)).not.toBeNull(); // MODEL -> model
  });

  it('converts a widget into an input by linking its socket, and the prompt then carries the link', () => {
    const constant = editor.addNode('IntConstant', [0, 0])!;
    const image = editor.addNode('LoadImage', [0, 300])!;
    const sampler = editor.addNode('KSampler', [400, 0])!;
    const save = editor.addNode('SaveImage', [800, 0])!;
    const steps = sampler.inputs.findIndex((i) => i.name === 'steps');
    expect(image.connect(0, sampler, steps)).toBeNull(); // IMAGE cannot feed an INT widget
    expect(constant.connect(0, sampler, steps)).not.toBeNull();
    editor.drawFrame();
    expect(sampler.widgets!.find((w) => w.name === 'steps')!.computedDisabled).toBe(true);
    void save;
    const saved = editor.serialize().nodes.find((n) => n.id === sampler.id)!;
    expect(saved.widgets_values?.length).toBe(7);
    expect(saved.inputs?.find((i) => i.name === 'steps')?.link).not.toBeNull();
  });
});

describe('workflows', () => {
  it('loads ComfyUI\'s USO template with its subgraphs and converts it back to an API prompt through core', () => {
    const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as UiWorkflow;
    const missing = findMissingNodeTypes(template, info);
    expect(missing).toEqual([]);
    editor.load(template, missing);
    const stats = editor.stats();
    expect(stats.nodes).toBe(template.nodes.length);
    // The subgraph node shows the widgets of the inner inputs it exposes (prompt text, size).
    const uso = editor.graph.getNodeById(112)!;
    expect((uso.widgets ?? []).map((w) => w.name)).toEqual(expect.arrayContaining(['text', 'width', 'height']));
    expect(stats.subgraphs).toBe(7);
    const saved = editor.serialize();
    expect(saved.nodes.length).toBe(template.nodes.length);
    expect((saved as { definitions?: { subgraphs?: unknown[] } }).definitions?.subgraphs?.length).toBe(7);
    const prompt = uiToApi(saved, info).prompt;
    const original = uiToApi(template, info).prompt;
    expect(Object.keys(prompt).sort()).toEqual(Object.keys(original).sort());
    for (const [id, node] of Object.entries(original)) expect(prompt[id]).toEqual(node);
  });

  it('keeps a saved node\'s socket list and gives unconverted widgets their sockets back', () => {
    const saved = {
      last_node_id: 3, last_link_id: 0, version: 0.4, links: [], groups: [], config: {}, extra: {},
      nodes: [{
        id: 3, type: 'KSampler', pos: [0, 0], size: [300, 260], flags: {}, order: 0, mode: 0, properties: {},
        inputs: [{ name: 'model', type: 'MODEL', link: null }, { name: 'positive', type: 'CONDITIONING', link: null }, { name: 'negative', type: 'CONDITIONING', link: null }, { name: 'latent_image', type: 'LATENT', link: null }],
        outputs: [{ name: 'LATENT', type: 'LATENT', links: [] }],
        widgets_values: [7, 'fixed', 20, 1, 'euler', 'simple', 1],
      }],
    } as unknown as UiWorkflow;
    editor.load(saved);
    const node = editor.graph.getNodeById(3)!;
    const names = node.inputs.map((i) => i.name);
    expect(names.slice(0, 4)).toEqual(['model', 'positive', 'negative', 'latent_image']);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(['cfg', 'denoise', 'latent_image', 'model', 'negative', 'positive', 'sampler_name', 'scheduler', 'seed', 'steps']);
    expect(node.widgets!.map((w) => w.value)).toEqual([7, 'fixed', 20, 1, 'euler', 'simple', 1]);
  });

  it('marks nodes of missing types with an error outline', () => {
    const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as UiWorkflow;
    const { USOStyleReference: _, ...without } = info;
    const missing = findMissingNodeTypes(template, without);
    expect(missing).toEqual(['USOStyleReference']);
    editor.load(template, missing);
    // The missing type sits inside subgraph definitions: those inner nodes carry the error.
    const marked = [...editor.graph.subgraphs.values()].flatMap((s) => s.nodes).filter((n) => n.type === 'USOStyleReference');
    expect(marked.length).toBeGreaterThan(0);
    expect(marked.every((n) => n.has_errors)).toBe(true);
  });

  it('mutes and bypasses the selection, toggling back when all are set', () => {
    const a = editor.addNode('VAEDecode', [0, 0])!;
    const b = editor.addNode('VAEEncode', [0, 200])!;
    editor.canvas.selectNodes([a, b]);
    expect(editor.toggleSelectedMode(2)).toBe(2);
    expect([a.mode, b.mode]).toEqual([2, 2]);
    editor.toggleSelectedMode(2);
    expect([a.mode, b.mode]).toEqual([0, 0]);
    editor.toggleSelectedMode(4);
    expect(editor.serialize().nodes.map((n) => n.mode)).toEqual([4, 4]);
    expect(changes).toBeGreaterThan(0);
  });

  it('copies and pastes the selection with its internal link', () => {
    const ckpt = editor.addNode('CheckpointLoaderSimple', [0, 0])!;
    const decode = editor.addNode('VAEDecode', [300, 0])!;
    ckpt.connect(2, decode, 1);
    editor.canvas.selectNodes([ckpt, decode]);
    editor.copySelected();
    editor.paste();
    const wf = editor.serialize();
    expect(wf.nodes.map((n) => n.type).sort()).toEqual(['CheckpointLoaderSimple', 'CheckpointLoaderSimple', 'VAEDecode', 'VAEDecode']);
    expect(wf.links.length).toBe(2);
    editor.deleteSelected();
    expect(editor.serialize().nodes.length).toBe(2);
  });

  it('groups the selection', () => {
    const a = editor.addNode('VAEDecode', [0, 0])!;
    const b = editor.addNode('VAEEncode', [300, 200])!;
    editor.canvas.selectNodes([a, b]);
    editor.addGroup('Decode');
    const groups = editor.serialize().groups as { title: string; bounding: number[] }[];
    expect(groups.map((g) => g.title)).toEqual(['Decode']);
    const [x, y, w, h] = groups[0]!.bounding;
    expect(x!).toBeLessThanOrEqual(0);
    expect(x! + w!).toBeGreaterThanOrEqual(300 + b.size[0]);
    expect(y! + h!).toBeGreaterThanOrEqual(200 + b.size[1]);
  });

  it('converts a selection into a subgraph that serialises as a definition', () => {
    const loader = editor.addNode('CheckpointLoaderSimple', [0, 0])!;
    const decode = editor.addNode('VAEDecode', [300, 0])!;
    loader.connect(2, decode, 1);
    editor.canvas.selectNodes([loader, decode]);
    expect(editor.convertSelectionToSubgraph()).toBe(true);
    const saved = editor.serialize() as UiWorkflow & { definitions?: { subgraphs?: { nodes: { type: string }[] }[] } };
    expect(saved.nodes.length).toBe(1);
    expect(saved.definitions?.subgraphs?.[0]?.nodes.map((n) => n.type).sort()).toEqual(['CheckpointLoaderSimple', 'VAEDecode']);
    // It opens for editing and the path shows it.
    expect(editor.openSubgraph(saved.nodes[0]!.id)).toBe(true);
    expect(editor.graphPath().length).toBe(2);
    editor.exitSubgraph();
    expect(editor.graphPath()).toEqual(['Workflow']);
  });

  it('moves seeds on after a queue by their control mode', () => {
    const node = editor.addNode('KSampler', [0, 0])!;
    const [seed, control] = node.widgets!;
    seed!.value = 10;
    control!.value = 'increment';
    editor.applyControlAfterGenerate();
    expect(seed!.value).toBe(11);
    control!.value = 'fixed';
    editor.applyControlAfterGenerate();
    expect(seed!.value).toBe(11);
    control!.value = 'randomize';
    editor.applyControlAfterGenerate(() => 0.5);
    expect(seed!.value).not.toBe(11);
  });

  it('outlines validation errors by node id and clears them', () => {
    const node = editor.addNode('KSampler', [0, 0])!;
    editor.setNodeErrors(new Map([[String(node.id), ['Required input is missing: model']]]));
    expect(node.has_errors).toBe(true);
    expect(editor.drawFrame()).toBeGreaterThanOrEqual(0);
    editor.setNodeErrors(new Map());
    expect(node.has_errors).toBe(false);
  });

  it('maps subgraph execution ids to the subgraph node on the root graph', () => {
    const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as UiWorkflow;
    editor.load(template);
    editor.setRunningNode('112:31');
    const running = editor.graph.getNodeById(112)!;
    expect(running.strokeStyles['running']?.call(running)).toMatchObject({ color: '#0f0' });
    editor.setRunningNode(null);
    expect(running.strokeStyles['running']?.call(running)).toBeUndefined();
  });
});
