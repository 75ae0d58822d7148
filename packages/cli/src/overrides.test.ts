import { describe, expect, it } from 'vitest';
import { applyOverrides, OverrideError, parseOverride } from './overrides.ts';

const prompt = {
  '3': { class_type: 'KSampler', inputs: { seed: 1, steps: 20 }, _meta: { title: 'Sampler' } },
  '57:12': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'a.safetensors' } },
  '58:12': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'a.safetensors' } },
};

describe('overrides', () => {
  it('parses JSON values and falls back to text', () => {
    expect(parseOverride('3.seed=42')).toEqual({ selector: '3', input: 'seed', value: 42 });
    expect(parseOverride('3.name=x.png')).toEqual({ selector: '3', input: 'name', value: 'x.png' });
    expect(parseOverride('Sampler.flag=true').value).toBe(true);
  });

  it('matches ids with colons, titles and class types', () => {
    const next = applyOverrides(prompt, [
      parseOverride('57:12.ckpt_name=demo.safetensors'),
      parseOverride('Sampler.steps=4'),
    ]);
    expect(next['57:12']!.inputs.ckpt_name).toBe('demo.safetensors');
    expect(next['58:12']!.inputs.ckpt_name).toBe('a.safetensors');
    expect(next['3']!.inputs.steps).toBe(4);
    const all = applyOverrides(prompt, [parseOverride('CheckpointLoaderSimple.ckpt_name=d.safetensors')]);
    expect(all['57:12']!.inputs.ckpt_name).toBe('d.safetensors');
    expect(all['58:12']!.inputs.ckpt_name).toBe('d.safetensors');
    expect(prompt['57:12'].inputs.ckpt_name).toBe('a.safetensors');
  });

  it('rejects malformed and unmatched overrides', () => {
    expect(() => parseOverride('nodot=1')).toThrow(OverrideError);
    expect(() => parseOverride('3.seed')).toThrow(OverrideError);
    expect(() => applyOverrides(prompt, [parseOverride('99.seed=1')])).toThrow(/no node/);
  });
});
