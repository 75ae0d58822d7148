import { describe, expect, it } from 'vitest';
import { nodesByCategory, normaliseNumber, planInput, planNode } from './object-info.ts';
import { testObjectInfo } from './test-support.ts';

describe('planInput', () => {
  it('reads INT and FLOAT options into number widgets', () => {
    const steps = planInput('steps', ['INT', { default: 20, min: 1, max: 10000 }]);
    expect(steps.widget).toMatchObject({ kind: 'number', type: 'INT', value: 20, min: 1, max: 10000, step: 1, round: 1, precision: 0 });
    const cfg = planInput('cfg', ['FLOAT', { default: 8, min: 0, max: 100, step: 0.1, round: 0.01 }]);
    expect(cfg.widget).toMatchObject({ kind: 'number', type: 'FLOAT', step: 0.1, round: 0.01, precision: 2 });
  });

  it('clamps a default outside the range', () => {
    expect(planInput('x', ['INT', { default: 50, min: 0, max: 10 }]).widget).toMatchObject({ value: 10 });
  });

  it('reads both combo spellings and keeps a valid default', () => {
    expect(planInput('s', [['a', 'b'], { default: 'b' }]).widget).toMatchObject({ kind: 'combo', values: ['a', 'b'], value: 'b' });
    expect(planInput('s', ['COMBO', { options: ['x', 'y'] }]).widget).toMatchObject({ kind: 'combo', values: ['x', 'y'], value: 'x' });
    expect(planInput('s', [['a'], { default: 'zzz' }]).widget).toMatchObject({ value: 'a' });
  });

  it('makes multiline STRINGs text areas and BOOLEANs toggles with labels', () => {
    expect(planInput('text', ['STRING', { multiline: true }]).widget).toMatchObject({ kind: 'text', multiline: true, value: '' });
    expect(planInput('b', ['BOOLEAN', { default: true, label_on: 'yes', label_off: 'no' }]).widget).toMatchObject({ kind: 'toggle', value: true, labelOn: 'yes', labelOff: 'no' });
  });

  it('leaves forceInput primitives and link types as plain sockets', () => {
    expect(planInput('n', ['INT', { forceInput: true }])).toEqual({ name: 'n', optional: false, type: 'INT' });
    expect(planInput('model', ['MODEL'])).toEqual({ name: 'model', optional: false, type: 'MODEL' });
  });
});

describe('planNode', () => {
  const info = testObjectInfo();

  it('orders widgets as widgets_values holds them (core\'s layout): seed, its control, the rest', () => {
    const plan = planNode(info.KSampler!);
    expect(plan.widgets.map((w) => (w.kind === 'input' ? w.spec.name : `${w.kind}:${w.of}`))).toEqual([
      'seed', 'control:seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise',
    ]);
    expect(plan.inputs.map((i) => i.name)).toEqual(['model', 'seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'positive', 'negative', 'latent_image', 'denoise']);
  });

  it('gives LoadImage an upload slot and flags its combo for a preview', () => {
    const plan = planNode(info.LoadImage!);
    expect(plan.widgets.map((w) => w.kind)).toEqual(['input', 'upload']);
    expect(plan.inputs[0]!.widget).toMatchObject({ kind: 'combo', imageUpload: true });
    expect(plan.outputs).toEqual([{ name: 'IMAGE', type: 'IMAGE', isList: false }, { name: 'MASK', type: 'MASK', isList: false }]);
  });

  it('marks optional inputs', () => {
    expect(planNode(info.ReferenceLatent!).inputs.map((i) => [i.name, i.optional])).toEqual([['conditioning', false], ['latent', true]]);
  });
});

describe('normaliseNumber', () => {
  it('snaps to round counted from min and clamps', () => {
    expect(normaliseNumber(517, { min: 16, max: 16384, round: 8, type: 'INT' })).toBe(520);
    expect(normaliseNumber(0.123456, { min: 0, max: 1, round: 0.01, type: 'FLOAT' })).toBe(0.12);
    expect(normaliseNumber(5, { min: 0, max: 1, round: 0.01, type: 'FLOAT' })).toBe(1);
    expect(normaliseNumber(Number.NaN, { min: -5, max: 5, round: 0, type: 'FLOAT' })).toBe(0);
  });
});

describe('nodesByCategory', () => {
  it('groups by category and sorts by title', () => {
    const groups = nodesByCategory(testObjectInfo());
    expect(groups.get('loaders')!.map((n) => n.title)).toEqual(['Load Checkpoint', 'Load CLIP Vision', 'LoraLoaderModelOnly', 'ModelPatchLoader']);
    expect([...groups.keys()]).toEqual([...groups.keys()].sort());
  });
});
