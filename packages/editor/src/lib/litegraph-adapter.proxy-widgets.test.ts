// @vitest-environment jsdom
// Proxy widgets: a subgraph instance showing inner widgets listed in `properties.proxyWidgets`, on the shipped
// workflows/uso-template-subgraphs.json (instance 25 proxies its inner KSampler 20's seed and seed control).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { findMissingNodeTypes, uiToApi } from './formats.ts';
import { GraphEditor, type UiWorkflow } from './litegraph-adapter.ts';
import { testObjectInfo, useStubbedCanvas } from './test-support.ts';

// A path, not a URL: under jsdom the global URL is jsdom's, which node:fs does not accept.
const WORKFLOW = resolve(import.meta.dirname, '../../../../workflows/uso-template-subgraphs.json');
const INSTANCE = 25;
const SAMPLER = 20;
const info = testObjectInfo();
let editor: GraphEditor;
let changes = 0;

type Node = { id: number | string; type: string; properties?: Record<string, unknown>; widgets_values?: unknown[] };
type Saved = UiWorkflow & { definitions: { subgraphs: { id: string; nodes: Node[] }[] } };

const template = (): Saved => JSON.parse(readFileSync(WORKFLOW, 'utf8')) as Saved;
function rootNode(wf: UiWorkflow, id: number): Node {
  const nodes = wf.nodes as unknown as Node[];
  return nodes.find((n) => Number(n.id) === id)!;
}
function innerSampler(wf: UiWorkflow): Node {
  const subgraphs = (wf as unknown as { definitions: { subgraphs: { nodes: Node[] }[] } }).definitions.subgraphs;
  const nodes = subgraphs.flatMap((s) => s.nodes);
  return nodes.find((n) => Number(n.id) === SAMPLER && n.type === 'KSampler')!;
}

function makeEditor(): GraphEditor {
  const canvas = document.createElement('canvas');
  document.body.appendChild(canvas);
  const made = new GraphEditor(canvas, { onChange: () => changes++ }, document.createElement('div'));
  made.registerNodeTypes(info);
  made.resize(800, 600);
  return made;
}

function load(wf: UiWorkflow, into = editor): void {
  const missing = findMissingNodeTypes(wf, info);
  expect(missing).toEqual([]);
  into.load(wf, missing);
}

const instance = (e = editor) => e.graph.getNodeById(INSTANCE)!;
const widget = (name: string, e = editor) => instance(e).widgets!.find((w) => w.name === name)!;
/** The inner KSampler as the editor holds it (inside the subgraph definition). */
function samplerNode(e = editor) {
  for (const sub of e.graph.subgraphs.values()) {
    const node = sub.getNodeById(SAMPLER);
    if (node?.type === 'KSampler') return node;
  }
  throw new Error('no inner KSampler');
}
const samplerWidget = (name: string, e = editor) => samplerNode(e).widgets!.find((w) => w.name === name)!;

useStubbedCanvas();
afterAll(() => editor?.destroy());
beforeEach(() => {
  editor?.destroy();
  changes = 0;
  editor = makeEditor();
});

describe('proxy widgets on a subgraph instance', () => {
  it('shows the inner seed and its control after the promoted inputs, with the inner widgets\' type, options and values', () => {
    const wf = template();
    load(wf);
    const node = instance();
    expect(node.widgets!.map((w) => w.name)).toEqual(['text', 'width', 'height', 'seed', 'control_after_generate']);
    const seed = widget('seed');
    const inner = samplerWidget('seed');
    expect(seed.type).toBe('number');
    expect(seed.options).toBe(inner.options);
    expect(seed.value).toBe(innerSampler(wf).widgets_values![0]);
    expect(seed.value).toBe(1058487910949722);
    const control = widget('control_after_generate');
    expect(control.type).toBe('combo');
    expect(control.value).toBe('fixed');
    expect((control.options as { values: string[] }).values).toEqual(expect.arrayContaining(['fixed', 'increment', 'randomize']));
    // Drawing the node (proxies included) works under the stand-in context.
    expect(editor.drawFrame()).toBeGreaterThanOrEqual(0);
  });

  it('writes a changed seed into the inner KSampler, so the prompt from core\'s uiToApi carries it as 25:20', () => {
    const wf = template();
    load(wf);
    const before = uiToApi(editor.serialize(), info).prompt;
    expect((before[`${INSTANCE}:${SAMPLER}`]!.inputs as { seed: number }).seed).toBe(1058487910949722);
    const seed = widget('seed');
    // As litegraph's number widget does on an edit: set the value, then call back.
    seed.value = 4242;
    seed.callback?.(4242);
    expect(samplerWidget('seed').value).toBe(4242);
    expect(changes).toBeGreaterThan(0);
    const saved = editor.serialize();
    expect((uiToApi(saved, info).prompt[`${INSTANCE}:${SAMPLER}`]!.inputs as { seed: number }).seed).toBe(4242);
    expect(innerSampler(saved).widgets_values![0]).toBe(4242);
    // The instance saves what ComfyUI saves: promoted input values only, and the property as loaded.
    expect(rootNode(saved, INSTANCE).widgets_values).toEqual(rootNode(wf, INSTANCE).widgets_values);
    expect(rootNode(saved, INSTANCE).properties?.['proxyWidgets']).toEqual(rootNode(wf, INSTANCE).properties?.['proxyWidgets']);
  });

  it('saves the promoted inputs\' values in the instance\'s widgets_values, where uiToApi reads them', () => {
    load(template());
    widget('width').value = 256;
    const saved = editor.serialize();
    expect(rootNode(saved, INSTANCE).widgets_values).toEqual(['a picture in the style of the reference', 256, 512]);
    expect((uiToApi(saved, info).prompt[`${INSTANCE}:19`]!.inputs as { width: number }).width).toBe(256);
  });

  it('normalises an edited value through the inner widget (seed range)', () => {
    load(template());
    const seed = widget('seed');
    seed.value = -5;
    seed.callback?.(-5);
    expect(samplerWidget('seed').value).toBe(0);
    expect(seed.value).toBe(0);
  });

  it('round-trips through save and load', () => {
    load(template());
    widget('seed').value = 77;
    widget('seed').callback?.(77);
    widget('control_after_generate').value = 'increment';
    widget('control_after_generate').callback?.('increment');
    const first = editor.serialize();
    const other = makeEditor();
    try {
      load(first, other);
      expect(widget('seed', other).value).toBe(77);
      expect(widget('control_after_generate', other).value).toBe('increment');
      expect(instance(other).widgets!.map((w) => w.name)).toEqual(['text', 'width', 'height', 'seed', 'control_after_generate']);
      const second = other.serialize();
      expect(second.nodes).toEqual(first.nodes);
      expect((second as Saved).definitions).toEqual((first as Saved).definitions);
      expect(uiToApi(second, info).prompt).toEqual(uiToApi(first, info).prompt);
    } finally {
      other.destroy();
    }
  });

  it('applies the proxied control after a queue once, to the inner value, and shows the result', () => {
    load(template());
    widget('seed').value = 10;
    widget('control_after_generate').value = 'increment';
    expect(samplerWidget('control_after_generate').value).toBe('increment');
    editor.applyControlAfterGenerate();
    expect(samplerWidget('seed').value).toBe(11);
    expect(widget('seed').value).toBe(11);
    expect((uiToApi(editor.serialize(), info).prompt[`${INSTANCE}:${SAMPLER}`]!.inputs as { seed: number }).seed).toBe(11);
    widget('control_after_generate').value = 'randomize';
    editor.applyControlAfterGenerate(() => 0.5);
    expect(widget('seed').value).not.toBe(11);
    expect(widget('seed').value).toBe(samplerWidget('seed').value);
  });

  it('follows the inner widget when it is edited inside the subgraph', () => {
    load(template());
    samplerWidget('seed').value = 9001;
    expect(widget('seed').value).toBe(9001);
  });

  it('leaves out entries it cannot find and keeps them in the property; reads the JSON string form', () => {
    const wf = template();
    const props = rootNode(wf, INSTANCE).properties!;
    props['proxyWidgets'] = JSON.stringify([['-1', 'text'], ['99', 'seed'], [String(SAMPLER), 'steps'], [String(SAMPLER), 'nope']]);
    load(wf);
    expect(instance().widgets!.map((w) => w.name)).toEqual(['text', 'width', 'height', 'steps']);
    expect(widget('steps').value).toBe(20);
    expect(rootNode(editor.serialize(), INSTANCE).properties?.['proxyWidgets']).toBe(props['proxyWidgets']);
  });

  it('reaches into nested instances by a:b path and mirrors a multiline text as a text area', () => {
    const wf = template();
    rootNode(wf, INSTANCE).properties!['proxyWidgets'] = [['23:6', 'crop'], ['14', 'text']];
    load(wf);
    const [crop, text] = instance().widgets!.slice(3);
    expect(crop!.name).toBe('crop');
    expect(crop!.type).toBe('combo');
    expect(crop!.value).toBe('center');
    expect(text!.type).toBe('customtext');
    text!.value = 'changed inside';
    text!.callback?.('changed inside');
    let inner: { widgets?: { name: string; value?: unknown }[] } | undefined;
    for (const sub of editor.graph.subgraphs.values()) inner ??= sub.getNodeById(14) ?? undefined;
    expect(inner?.widgets?.find((w) => w.name === 'text')?.value).toBe('changed inside');
    // Still only the promoted inputs' values on the instance.
    expect(rootNode(editor.serialize(), INSTANCE).widgets_values).toEqual(rootNode(wf, INSTANCE).widgets_values);
  });
});
