import { describe, it, expect } from 'vitest';
import { controlValueCount, defaultSlotValue, defaultWidgetValue, inputSpecs, isWidgetInput, processDynamicPrompt, socketType, widgetLayout } from './widgets.ts';
import { entry, usoObjectInfo } from './test-object-info.ts';

const info = usoObjectInfo();
const names = (e: Parameters<typeof widgetLayout>[0]) => widgetLayout(e).map((s) => `${s.kind}:${s.name}`);

describe('widgetLayout', () => {
  it('puts the control value right after the seed of KSampler', () => {
    expect(names(info.KSampler!)).toEqual([
      'input:seed', 'control:control_after_generate', 'input:steps', 'input:cfg', 'input:sampler_name', 'input:scheduler', 'input:denoise',
    ]);
  });

  it('adds the upload button after the required widgets of LoadImage', () => {
    expect(names(info.LoadImage!)).toEqual(['input:image', 'upload:upload']);
  });

  it('places the upload button before optional widgets', () => {
    const e = entry('Loader', { file: [['a.mp4'], { video_upload: true }], fps: ['INT'] }, ['VIDEO'], { optional: { label: ['STRING'] } });
    expect(names(e)).toEqual(['input:file', 'input:fps', 'upload:upload', 'input:label']);
  });

  it('gives legacy seed inputs a control value unless the option is off', () => {
    expect(names(entry('A', { noise_seed: ['INT'] }, []))).toEqual(['input:noise_seed', 'control:control_after_generate']);
    expect(names(entry('B', { seed: ['INT', { control_after_generate: false }] }, []))).toEqual(['input:seed']);
    expect(names(entry('C', { seed: ['FLOAT'] }, []))).toEqual(['input:seed']);
    expect(names(entry('D', { value: ['INT', { control_after_generate: true }] }, []))).toEqual(['input:value', 'control:control_after_generate']);
  });

  it('gives combos with control_after_generate a control and a filter value', () => {
    expect(names(entry('E', { choice: [['a', 'b'], { control_after_generate: true }] }, []))).toEqual([
      'input:choice', 'control:control_after_generate', 'filter:control_filter_list',
    ]);
    expect(names(entry('F', { choice: ['COMBO', { options: ['a'], control_after_generate: true }] }, []))).toHaveLength(3);
  });

  it('leaves out forceInput and link-type inputs, and follows input_order', () => {
    const e = entry('G', { b: ['INT', { forceInput: true }], a: ['MODEL'], c: ['STRING'], d: ['BOOLEAN'] }, []);
    e.input_order.required = ['d', 'c', 'a', 'b'];
    expect(names(e)).toEqual(['input:d', 'input:c']);
  });
});

describe('input specs and defaults', () => {
  it('normalises combos and keeps optional inputs last', () => {
    const specs = inputSpecs(info.ReferenceLatent!);
    expect(specs.map((s) => [s.name, s.optional])).toEqual([['conditioning', false], ['latent', true]]);
    const crop = inputSpecs(info.CLIPVisionEncode!).find((s) => s.name === 'crop')!;
    expect(crop).toMatchObject({ type: 'COMBO', choices: ['center', 'none'] });
    expect(isWidgetInput(crop)).toBe(true);
    expect(controlValueCount(crop)).toBe(0);
  });

  it('uses declared defaults, then the first combo choice, then zero values', () => {
    const [width] = inputSpecs(info.EmptyLatentImage!);
    expect(defaultWidgetValue(width!)).toBe(512);
    expect(defaultWidgetValue(inputSpecs(info.CLIPVisionEncode!)[2]!)).toBe('center');
    expect(defaultWidgetValue(inputSpecs(entry('H', { s: ['STRING'] }, []))[0]!)).toBe('');
    expect(defaultWidgetValue(inputSpecs(entry('H', { b: ['BOOLEAN'] }, []))[0]!)).toBe(false);
    expect(defaultWidgetValue(inputSpecs(entry('H', { i: ['INT'] }, []))[0]!)).toBe(0);
    expect(widgetLayout(info.KSampler!).map(defaultSlotValue).slice(0, 2)).toEqual([0, 'fixed']);
    expect(widgetLayout(info.LoadImage!).map(defaultSlotValue)).toEqual(['input.png', 'image']);
  });

  it('tolerates entries without inputs', () => {
    const bare = { ...entry('Bare', {}, ['X']), input: undefined, input_order: undefined } as unknown as Parameters<typeof widgetLayout>[0];
    expect(widgetLayout(bare)).toEqual([]);
  });

  it('names list-typed sockets COMBO', () => {
    expect(socketType(['a'])).toBe('COMBO');
    expect(socketType('MODEL')).toBe('MODEL');
  });
});

describe('processDynamicPrompt', () => {
  const first = () => 0;
  const last = () => 0.999;
  it('picks one option per group, nested groups included', () => {
    expect(processDynamicPrompt('a {red|blue} car', first)).toBe('a red car');
    expect(processDynamicPrompt('a {red|blue} car', last)).toBe('a blue car');
    expect(processDynamicPrompt('{x|{y|z}}', last)).toBe('z');
    expect(processDynamicPrompt('{only}', last)).toBe('only');
    expect(processDynamicPrompt('{a|}', last)).toBe('');
  });

  it('strips C-style comments, as the front end does (URLs included)', () => {
    expect(processDynamicPrompt('sky // not this\nsea /* nor\nthis */!', first)).toBe('sky \nsea !');
    expect(processDynamicPrompt('see http://example.com', first)).toBe('see http:');
  });

  it('keeps escaped braces and bars literal', () => {
    expect(processDynamicPrompt('\\{a\\|b\\} {c|d}', first)).toBe('{a|b} c');
    expect(processDynamicPrompt('line\\nbreak', first)).toBe('line\\nbreak');
  });

  it('leaves plain text alone', () => {
    const text = 'A European girl with a heartfelt smile.';
    expect(processDynamicPrompt(text, first)).toBe(text);
  });
});
