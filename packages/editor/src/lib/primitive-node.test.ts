// @vitest-environment jsdom
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uiToApi } from './formats.ts';
import { GraphEditor, type UiWorkflow } from './litegraph-adapter.ts';
import { planInput, type WidgetSpec } from './object-info.ts';
import { mergeTarget, nextComboValue, planPrimitive, PRIMITIVE_IDLE_OUTPUT } from './primitive-node.ts';
import { stubCanvasContext, testObjectInfo } from './test-support.ts';

const spec = (name: string, raw: unknown[]) => planInput(name, raw).widget as WidgetSpec;

describe('planPrimitive', () => {
  it('shows the target widget as `value` with ComfyUI\'s controls after it', () => {
    const seed = planPrimitive(spec('seed', ['INT', { min: 0, max: 100 }]), true, 42);
    expect(seed).toMatchObject({ outputType: 'INT', control: 'randomize', filter: false, spec: { kind: 'number', name: 'value', value: 42, max: 100 } });
    expect(planPrimitive(spec('steps', ['INT', { default: 20 }]), false).control).toBe('fixed');
    expect(planPrimitive(spec('sampler', [['euler', 'dpm']]), false)).toMatchObject({ outputType: 'COMBO', control: 'fixed', filter: true });
    expect(planPrimitive(spec('text', ['STRING', { multiline: true }]), false)).toMatchObject({ outputType: 'STRING', control: null, filter: false });
    expect(planPrimitive(spec('flag', ['BOOLEAN']), false)).toMatchObject({ outputType: 'BOOLEAN', control: null });
    // The image preview stays on LoadImage.
    const image = planPrimitive(spec('image', [['a.png'], { image_upload: true }]), false).spec;
    expect(image.kind === 'combo' && image.imageUpload).toBe(false);
  });
});

describe('mergeTarget', () => {
  it('narrows numbers to the overlap and refuses other types, other lists and disjoint ranges', () => {
    const wide = spec('a', ['INT', { min: 0, max: 1000, default: 5 }]);
    expect(mergeTarget(wide, spec('b', ['INT', { min: 10, max: 50 }]))).toMatchObject({ min: 10, max: 50, value: 10 });
    expect(mergeTarget(wide, spec('c', ['INT', { min: 2000, max: 3000 }]))).toBeNull();
    expect(mergeTarget(wide, spec('d', ['FLOAT']))).toBeNull();
    const combo = spec('s', [['euler', 'dpm']]);
    expect(mergeTarget(combo, spec('t', [['euler', 'dpm']]))).toBe(combo);
    expect(mergeTarget(combo, spec('u', [['euler']]))).toBeNull();
  });
});

describe('nextComboValue', () => {
  const list = ['euler', 'euler_a', 'dpmpp_2m', 'dpmpp_sde'];
  it('steps, stops at the ends, picks at random and keeps to the filter', () => {
    expect(nextComboValue(list, 'euler', 'increment')).toBe('euler_a');
    expect(nextComboValue(list, 'dpmpp_sde', 'increment')).toBe('dpmpp_sde');
    expect(nextComboValue(list, 'euler', 'decrement')).toBe('euler');
    expect(nextComboValue(list, 'euler', 'fixed')).toBe('euler');
    expect(nextComboValue(list, 'euler', 'randomize', '', () => 0.99)).toBe('dpmpp_sde');
    expect(nextComboValue(list, 'dpmpp_2m', 'increment', 'DPM')).toBe('dpmpp_sde');
    expect(nextComboValue(list, 'euler', 'increment', '/^dpm.*m$/')).toBe('dpmpp_2m');
    expect(nextComboValue(list, 'euler', 'increment', 'zzz')).toBe('euler');
  });
});

describe('PrimitiveNode on the canvas', () => {
  const info = testObjectInfo();
  let restore: () => void;
  let editor: GraphEditor;

  beforeAll(() => {
    restore = stubCanvasContext();
  });
  afterAll(() => {
    editor?.destroy();
    restore();
  });
  beforeEach(() => {
    editor?.destroy();
    const canvas = document.createElement('canvas');
    document.body.appendChild(canvas);
    editor = new GraphEditor(canvas, {}, document.createElement('div'));
    editor.registerNodeTypes(info);
    editor.resize(800, 600);
  });

  const slot = (node: { inputs: { name: string }[] }, name: string) => node.inputs.findIndex((i) => i.name === name);
  const names = (node: { widgets?: { name: string }[] }) => (node.widgets ?? []).map((w) => w.name);

  it('takes the first target\'s widget, pushes its value to every target and converts through core', () => {
    const primitive = editor.addNode('PrimitiveNode', [0, 0])!;
    expect(primitive.outputs[0]).toMatchObject({ name: PRIMITIVE_IDLE_OUTPUT, type: '*' });
    expect(names(primitive)).toEqual([]);
    const a = editor.addNode('KSampler', [300, 0])!;
    const b = editor.addNode('KSampler', [300, 400])!;
    const image = editor.addNode('LoadImage', [0, 400])!;
    a.widgets!.find((w) => w.name === 'seed')!.value = 77;
    // Only widget inputs take a primitive.
    expect(primitive.connect(0, a, slot(a, 'model'))).toBeNull();
    expect(primitive.connect(0, a, slot(a, 'seed'))).not.toBeNull();
    expect(names(primitive)).toEqual(['value', 'control_after_generate']);
    expect(primitive.widgets!.map((w) => w.value)).toEqual([77, 'randomize']);
    expect(primitive.outputs[0]).toMatchObject({ name: 'INT', type: 'INT', widget: { name: 'seed' } });
    // A further INT widget fits (the range narrows to steps' 1..10000); a FLOAT or a combo does not.
    expect(primitive.connect(0, b, slot(b, 'seed'))).not.toBeNull();
    // The new target takes the primitive's value.
    expect(b.widgets!.find((w) => w.name === 'seed')!.value).toBe(77);
    expect(primitive.connect(0, b, slot(b, 'cfg'))).toBeNull();
    expect(primitive.connect(0, image, slot(image, 'image'))).toBeNull();
    expect(primitive.connect(0, a, slot(a, 'steps'))).not.toBeNull();
    expect((primitive.widgets![0]!.options as { min: number }).min).toBe(1);
    expect(primitive.widgets![0]!.value).toBe(77);

    primitive.widgets![0]!.callback?.(1234);
    const seedOf = (n: typeof a) => n.widgets!.find((w) => w.name === 'seed')!.value;
    expect([seedOf(a), seedOf(b), a.widgets!.find((w) => w.name === 'steps')!.value]).toEqual([1234, 1234, 1234]);

    const saved = editor.serialize();
    const node = saved.nodes.find((n) => n.id === primitive.id)!;
    expect(node.type).toBe('PrimitiveNode');
    expect(node.widgets_values).toEqual([1234, 'randomize']);
    expect(node.outputs?.[0]).toMatchObject({ name: 'INT', type: 'INT', widget: { name: 'seed' } });
    expect(node.outputs?.[0]?.links?.length).toBe(3);
    // Set the primitive apart from the targets so the prompt can only carry its value through the links.
    node.widgets_values = [4321, 'randomize'];
    const { prompt } = uiToApi(saved, info);
    expect(Object.values(prompt).map((n) => n.class_type).sort()).toEqual(['KSampler', 'KSampler', 'LoadImage']);
    expect(prompt[String(a.id)]!.inputs).toMatchObject({ seed: 4321, steps: 4321, cfg: 8 });
    expect(prompt[String(b.id)]!.inputs).toMatchObject({ seed: 4321, steps: 20 });
  });

  it('survives a save and load with its widgets, values and links', () => {
    const primitive = editor.addNode('PrimitiveNode', [0, 0])!;
    const sampler = editor.addNode('KSampler', [300, 0])!;
    primitive.connect(0, sampler, slot(sampler, 'sampler_name'));
    expect(names(primitive)).toEqual(['value', 'control_after_generate', 'control_filter_list']);
    primitive.widgets![0]!.callback?.('dpmpp_2m');
    primitive.widgets![0]!.value = 'dpmpp_2m';
    primitive.widgets![1]!.value = 'increment';
    const saved = editor.serialize();
    const before = uiToApi(saved, info).prompt;
    expect(before[String(sampler.id)]!.inputs.sampler_name).toBe('dpmpp_2m');

    editor.load(saved);
    const loaded = editor.graph.getNodeById(primitive.id)!;
    expect(names(loaded)).toEqual(['value', 'control_after_generate', 'control_filter_list']);
    expect(loaded.widgets!.map((w) => w.value)).toEqual(['dpmpp_2m', 'increment', '']);
    expect(loaded.outputs[0]).toMatchObject({ type: 'COMBO', widget: { name: 'sampler_name' } });
    expect(uiToApi(editor.serialize(), info).prompt).toEqual(before);

    // After a queue the combo steps on and the target follows.
    editor.applyControlAfterGenerate();
    expect(loaded.widgets![0]!.value).toBe('dpmpp_2m'); // the last of ['euler', 'dpmpp_2m']: it stays
    loaded.widgets![1]!.value = 'decrement';
    editor.applyControlAfterGenerate();
    expect(loaded.widgets![0]!.value).toBe('euler');
    expect(editor.graph.getNodeById(sampler.id)!.widgets!.find((w) => w.name === 'sampler_name')!.value).toBe('euler');
  });

  it('moves a seed primitive on after a queue while the linked seed\'s own control stays', () => {
    const primitive = editor.addNode('PrimitiveNode', [0, 0])!;
    const sampler = editor.addNode('KSampler', [300, 0])!;
    primitive.connect(0, sampler, slot(sampler, 'seed'));
    primitive.widgets![0]!.callback?.(10);
    primitive.widgets![1]!.value = 'increment';
    sampler.widgets!.find((w) => w.name === 'control_after_generate')!.value = 'increment';
    editor.applyControlAfterGenerate();
    expect(primitive.widgets![0]!.value).toBe(11);
    expect(sampler.widgets!.find((w) => w.name === 'seed')!.value).toBe(11);
  });

  it('loads a file whose primitive output does not name its widget (older saves)', () => {
    const workflow = {
      last_node_id: 2, last_link_id: 1, version: 0.4, groups: [], config: {}, extra: {},
      links: [[1, 1, 0, 2, 0, 'STRING']],
      nodes: [
        { id: 1, type: 'PrimitiveNode', pos: [0, 0], size: [300, 80], flags: {}, order: 0, mode: 0, properties: {},
          outputs: [{ name: 'STRING', type: 'STRING', links: [1] }], widgets_values: ['from the primitive'] },
        { id: 2, type: 'SaveImage', pos: [400, 0], size: [300, 100], flags: {}, order: 1, mode: 0, properties: {},
          inputs: [{ name: 'filename_prefix', type: 'STRING', link: 1, widget: { name: 'filename_prefix' } }, { name: 'images', type: 'IMAGE', link: null }],
          outputs: [], widgets_values: ['old'] },
      ],
    } as unknown as UiWorkflow;
    editor.load(workflow);
    const primitive = editor.graph.getNodeById(1)!;
    expect(primitive.widgets!.map((w) => w.value)).toEqual(['from the primitive']);
    expect(editor.graph.getNodeById(2)!.widgets![0]!.value).toBe('from the primitive');
    expect(uiToApi(editor.serialize(), info).prompt['2']!.inputs.filename_prefix).toBe('from the primitive');
  });

  it('drops its widgets and output type when the last link goes', () => {
    const primitive = editor.addNode('PrimitiveNode', [0, 0])!;
    const clip = editor.addNode('CLIPTextEncode', [300, 0])!;
    primitive.connect(0, clip, slot(clip, 'text'));
    expect(primitive.widgets!.map((w) => w.type)).toEqual(['customtext']);
    primitive.widgets![0]!.value = 'a cat';
    primitive.widgets![0]!.callback?.('a cat');
    expect(clip.widgets![0]!.value).toBe('a cat');
    clip.disconnectInput(slot(clip, 'text'));
    expect(primitive.widgets).toEqual([]);
    expect(primitive.outputs[0]).toMatchObject({ name: PRIMITIVE_IDLE_OUTPUT, type: '*' });
    expect(editor.serialize().nodes.find((n) => n.id === primitive.id)!.outputs![0]!.widget).toBeUndefined();
  });
});
