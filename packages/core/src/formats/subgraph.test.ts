import { describe, it, expect } from 'vitest';
import { WorkflowFormatError } from './errors.ts';
import { executionId, flattenWorkflow } from './subgraph.ts';
import { uiToApi } from './ui-to-api.ts';
import { entry } from './test-object-info.ts';
import { TestGraph, subgraphBody } from './test-workflow.ts';

/**
 * Root: Source(1) -> instance 10 of OUTER -> Sink(3).
 * OUTER(m: MODEL, s: FLOAT) holds Mid(5) and instance 6 of INNER; INNER(x: MODEL, strength: FLOAT) holds Leaf(7),
 * whose widget input `strength` comes from INNER's input, which OUTER feeds from its own input `s`.
 */
function nested(options: { outerValues?: unknown[]; linkStrengthOutside?: boolean } = {}) {
  const inner = subgraphBody([['x', 'MODEL'], ['strength', 'FLOAT']], [['OUT', 'MODEL']]);
  inner.node(7, 'Leaf', { inputs: [['x', 'MODEL'], ['strength', 'FLOAT', true]], outputs: [['MODEL', 'MODEL']], widgets: [0.1] });
  inner.link(-10, 0, 7, 'x', 'MODEL');
  inner.link(-10, 1, 7, 'strength', 'FLOAT');
  inner.link(7, 0, -20, 0, 'MODEL');

  const outer = subgraphBody([['m', 'MODEL'], ['s', 'FLOAT']], [['OUT', 'MODEL']]);
  outer.node(5, 'Mid', { inputs: [['model', 'MODEL']], outputs: [['MODEL', 'MODEL']] });
  outer.node(6, 'inner-id', { inputs: [['x', 'MODEL'], ['strength', 'FLOAT', true]], outputs: [['OUT', 'MODEL']], widgets: [0.25] });
  outer.link(-10, 0, 5, 'model', 'MODEL');
  outer.link(5, 0, 6, 'x', 'MODEL');
  outer.link(-10, 1, 6, 'strength', 'FLOAT');
  outer.link(6, 0, -20, 0, 'MODEL');

  const root = new TestGraph();
  root.node(1, 'Source', { outputs: [['MODEL', 'MODEL'], ['FLOAT', 'FLOAT']] });
  root.node(10, 'outer-id', {
    inputs: options.linkStrengthOutside ? [['m', 'MODEL'], ['s', 'FLOAT', true]] : [['m', 'MODEL']],
    outputs: [['OUT', 'MODEL']],
    widgets: options.outerValues ?? [0.75],
  });
  root.node(3, 'Sink', { inputs: [['model', 'MODEL']] });
  root.link(1, 0, 10, 'm', 'MODEL');
  if (options.linkStrengthOutside) root.link(1, 1, 10, 's', 'FLOAT');
  root.link(10, 0, 3, 'model', 'MODEL');
  return root.toWorkflow([outer.toSubgraph('outer-id', 'Outer'), inner.toSubgraph('inner-id', 'Inner')]);
}

const objectInfo = {
  Source: entry('Source', {}, ['MODEL', 'FLOAT']),
  Mid: entry('Mid', { model: ['MODEL'] }, ['MODEL']),
  Leaf: entry('Leaf', { x: ['MODEL'], strength: ['FLOAT', { default: 1 }] }, ['MODEL']),
  Sink: entry('Sink', { model: ['MODEL'] }, [], { outputNode: true }),
};

describe('flattenWorkflow', () => {
  it('gives nested inner nodes outer:inner ids and routes links across the boundaries', () => {
    const flat = flattenWorkflow(nested());
    expect(flat.nodes.map((n) => n.id)).toEqual(['1', '10:5', '10:6:7', '3']);
    expect(flat.byId.get('10:6:7')!.path).toEqual(['10', '6']);
    expect(flat.byId.get('3')!.inputs[0]!.source).toEqual({ kind: 'link', nodeId: '10:6:7', slot: 0 });
    expect(flat.byId.get('10:6:7')!.inputs[0]!.source).toEqual({ kind: 'link', nodeId: '10:5', slot: 0 });
    expect(flat.byId.get('10:5')!.inputs[0]!.source).toEqual({ kind: 'link', nodeId: '1', slot: 0 });
  });

  it('takes a promoted widget value from the outermost instance that holds it', () => {
    const flat = flattenWorkflow(nested());
    expect(flat.byId.get('10:6:7')!.inputs[1]!.source).toEqual({ kind: 'value', value: 0.75 });
    const { prompt } = uiToApi(nested(), objectInfo);
    expect(prompt['10:6:7']).toEqual({ class_type: 'Leaf', inputs: { x: ['10:5', 0], strength: 0.75 }, _meta: { title: 'Leaf' } });
  });

  it('prefers a link into the instance over its widget value', () => {
    const { prompt } = uiToApi(nested({ linkStrengthOutside: true }), objectInfo);
    expect(prompt['10:6:7']!.inputs.strength).toEqual(['1', 1]);
  });

  it("keeps the inner node's own value when the instance saved none", () => {
    const { prompt } = uiToApi(nested({ outerValues: [] }), objectInfo);
    expect(prompt['10:6:7']!.inputs.strength).toBe(0.1);
  });

  it('routes a subgraph output wired straight from a subgraph input', () => {
    const body = subgraphBody([['in', 'MODEL']], [['out', 'MODEL']]);
    body.link(-10, 0, -20, 0, 'MODEL');
    const root = new TestGraph();
    root.node(1, 'Source', { outputs: [['MODEL', 'MODEL'], ['FLOAT', 'FLOAT']] });
    root.node(2, 'pass', { inputs: [['in', 'MODEL']], outputs: [['out', 'MODEL']] });
    root.node(3, 'Sink', { inputs: [['model', 'MODEL']] });
    root.link(1, 0, 2, 'in', 'MODEL');
    root.link(2, 0, 3, 'model', 'MODEL');
    const { prompt } = uiToApi(root.toWorkflow([body.toSubgraph('pass', 'Pass')]), objectInfo);
    expect(prompt['3']!.inputs.model).toEqual(['1', 0]);
    expect(Object.keys(prompt).sort()).toEqual(['1', '3']);
  });

  it('keeps muted and bypassed instances whole', () => {
    const workflow = nested();
    workflow.nodes.find((n) => n.id === 10)!.mode = 4;
    const flat = flattenWorkflow(workflow);
    expect(flat.nodes.map((n) => n.id)).toEqual(['1', '10', '3']);
    expect(flat.byId.get('10')!.subgraph?.name).toBe('Outer');
    // Its inputs follow the definition: m (linked) and the promoted s.
    expect(flat.byId.get('10')!.inputs.map((i) => [i.name, i.widget, i.source?.kind])).toEqual([['m', undefined, 'link'], ['s', 's', undefined]]);
    // Bypassed: the sink gets the instance's MODEL input.
    expect(uiToApi(workflow, objectInfo).prompt['3']!.inputs.model).toEqual(['1', 0]);
    workflow.nodes.find((n) => n.id === 10)!.mode = 2;
    const muted = uiToApi(workflow, objectInfo).prompt;
    expect(Object.keys(muted).sort()).toEqual(['1', '3']);
    expect(muted['3']!.inputs).toEqual({});
  });

  it('gives two instances of one definition their own ids and values', () => {
    const body = subgraphBody([['strength', 'FLOAT']], [['OUT', 'MODEL']]);
    body.node(4, 'Leaf', { inputs: [['x', 'MODEL'], ['strength', 'FLOAT', true]], outputs: [['MODEL', 'MODEL']], widgets: [0] });
    body.link(-10, 0, 4, 'strength', 'FLOAT');
    body.link(4, 0, -20, 0, 'MODEL');
    const root = new TestGraph();
    root.node(20, 'leafy', { outputs: [['OUT', 'MODEL']], widgets: [0.5] });
    root.node(21, 'leafy', { outputs: [['OUT', 'MODEL']], widgets: [0.9] });
    const { prompt } = uiToApi(root.toWorkflow([body.toSubgraph('leafy', 'Leafy')]), objectInfo);
    expect(prompt['20:4']!.inputs.strength).toBe(0.5);
    expect(prompt['21:4']!.inputs.strength).toBe(0.9);
  });

  it('rejects a subgraph that contains itself', () => {
    const body = subgraphBody([], []);
    body.node(1, 'loop', {});
    const root = new TestGraph();
    root.node(1, 'loop', {});
    expect(() => flattenWorkflow(root.toWorkflow([body.toSubgraph('loop', 'Loop')]))).toThrow(WorkflowFormatError);
  });

  it('treats dangling link ids as unconnected', () => {
    const root = new TestGraph();
    root.node(3, 'Sink', { inputs: [['model', 'MODEL']] });
    root.nodes[0]!.inputs![0]!.link = 99;
    expect(flattenWorkflow(root.toWorkflow()).byId.get('3')!.inputs[0]!.source).toBeUndefined();
  });

  it('joins execution ids with colons', () => {
    expect(executionId([57, '3'], 12)).toBe('57:3:12');
    expect(executionId([], 4)).toBe('4');
  });
});
