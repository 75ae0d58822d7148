import { describe, expect, it } from 'vitest';
import { buildGraph } from '../graph.ts';
import { defineNode, type ApiPrompt } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';
import { collectAncestors, resolveTargets } from './targets.ts';

const registry = new NodeRegistry([
  defineNode({ name: 'Source', category: 't', inputs: {}, outputs: [{ type: 'INT' }], execute: () => ({}) }),
  defineNode({ name: 'Sink', category: 't', outputNode: true, inputs: {}, outputs: [], execute: () => ({}) }),
]);

const prompt: ApiPrompt = {
  '1': { class_type: 'Source', inputs: {} },
  '2': { class_type: 'Source', inputs: { x: ['1', 0] } },
  '3': { class_type: 'Sink', inputs: { x: ['2', 0] } },
  '4': { class_type: 'Source', inputs: {} },
  '5': { class_type: 'Sink', inputs: { x: ['4', 0] } },
  '6': { class_type: 'Unknown', inputs: {} },
};
const graph = buildGraph(prompt);

describe('resolveTargets', () => {
  it('defaults to every output node, in prompt order', () => {
    expect(resolveTargets(graph, registry)).toEqual(['3', '5']);
  });

  it('uses the requested ids (partial execution), dropping unknown and duplicate ids', () => {
    expect(resolveTargets(graph, registry, ['2', 'nope', '2'])).toEqual(['2']);
  });
});

describe('collectAncestors', () => {
  it('returns the targets and everything they reach through links', () => {
    expect(collectAncestors(graph, ['3'])).toEqual(new Set(['3', '2', '1']));
    expect(collectAncestors(graph, ['3', '5'])).toEqual(new Set(['3', '2', '1', '5', '4']));
  });

  it('terminates on cycles', () => {
    const cyclic = buildGraph({
      a: { class_type: 'Source', inputs: { x: ['b', 0] } },
      b: { class_type: 'Source', inputs: { x: ['a', 0] } },
    });
    expect(collectAncestors(cyclic, ['a'])).toEqual(new Set(['a', 'b']));
  });
});
