import { describe, expect, it } from 'vitest';
import { defineNode, type NodeDefinition } from '../node-api.ts';
import { inputsForRuns, mergeResults, runCount, sliceInputs } from './list-mapping.ts';

const node = (overrides: Partial<NodeDefinition> = {}): NodeDefinition =>
  defineNode({ name: 'N', category: 't', inputs: {}, outputs: [{ type: 'INT' }], execute: () => ({}), ...overrides });

describe('runCount', () => {
  it('runs once without inputs, once per element of the longest list otherwise', () => {
    expect(runCount(node(), {})).toBe(1);
    expect(runCount(node(), { a: [1], b: [1, 2, 3] })).toBe(3);
  });

  it('runs once for nodes that take whole lists', () => {
    expect(runCount(node({ inputIsList: true }), { a: [1, 2, 3] })).toBe(1);
  });

  it('does not run when an input list is empty', () => {
    expect(runCount(node(), { a: [], b: [1, 2] })).toBe(0);
  });
});

describe('sliceInputs / inputsForRuns', () => {
  it('repeats the last element of shorter lists, as ComfyUI does', () => {
    expect(sliceInputs({ a: [1, 2], b: ['x'] }, 1)).toEqual({ a: 2, b: 'x' });
    expect(inputsForRuns(node(), { a: [1, 2, 3], b: [10, 20] })).toEqual([
      { a: 1, b: 10 },
      { a: 2, b: 20 },
      { a: 3, b: 20 },
    ]);
  });

  it('hands whole lists to inputIsList nodes', () => {
    expect(inputsForRuns(node({ inputIsList: true }), { a: [1, 2], b: [3] })).toEqual([{ a: [1, 2], b: [3] }]);
  });
});

describe('mergeResults', () => {
  it('collects one value per run for normal outputs and concatenates isList outputs', () => {
    const def = node({ outputs: [{ type: 'INT' }, { type: 'INT', isList: true }] });
    const merged = mergeResults(def, [{ outputs: [1, [10, 11]] }, { outputs: [2, [12]] }]);
    expect(merged.outputs).toEqual([[1, 2], [10, 11, 12]]);
  });

  it('fills missing outputs with undefined, one per run', () => {
    const def = node({ outputs: [{ type: 'INT' }, { type: 'INT' }] });
    expect(mergeResults(def, [{ outputs: [1] }]).outputs).toEqual([[1], [undefined]]);
  });

  it('keeps a single UI as is and concatenates UI lists across runs', () => {
    const def = node({ outputs: [] });
    expect(mergeResults(def, [{ ui: { images: [{ f: 'a' }] } }]).ui).toEqual({ images: [{ f: 'a' }] });
    expect(mergeResults(def, [{ ui: { images: [{ f: 'a' }] } }, {}, { ui: { images: [{ f: 'b' }], text: 'x' } }]).ui).toEqual({
      images: [{ f: 'a' }, { f: 'b' }],
      text: ['x'],
    });
    expect(mergeResults(def, [{}, { ui: {} }]).ui).toBeUndefined();
  });
});
