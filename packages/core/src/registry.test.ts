import { describe, expect, it } from 'vitest';
import { defineNode } from './node-api.ts';
import { NodeRegistry } from './registry.ts';

const env = { inputDir: '/i', outputDir: '/o', tempDir: '/t', modelsDir: '/m' };

const v1 = defineNode({
  name: 'Classic',
  category: 'test',
  inputs: { required: { mode: { type: 'COMBO', options: ['a', 'b'], default: 'b' }, text: { type: 'STRING', multiline: true, dynamicPrompts: true } } },
  outputs: [{ type: 'IMAGE' }],
  execute: () => ({}),
});

const v3 = defineNode({
  name: 'Schema',
  category: 'test',
  comfyApi: 'v3',
  experimental: true,
  inputs: { required: { conditioning: { type: 'CONDITIONING' }, method: { type: 'COMBO', options: ['offset', 'index'] } } },
  outputs: [{ type: 'CONDITIONING' }],
  execute: () => ({}),
});

describe('NodeRegistry.objectInfoFor', () => {
  it("renders a classic node as server.py's node_info: combos as lists, flags only when set", () => {
    const info = new NodeRegistry([v1, { ...v1, name: 'Old', deprecated: true, apiNode: false }]).objectInfo(env);
    expect(info.Classic!.input.required).toEqual({ mode: [['a', 'b'], { default: 'b' }], text: ['STRING', { multiline: true, dynamicPrompts: true }] });
    for (const key of ['deprecated', 'experimental', 'api_node', 'output_tooltips']) expect(key in info.Classic!, key).toBe(false);
    expect(info.Old).toMatchObject({ deprecated: true, api_node: false });
    expect('experimental' in info.Old!).toBe(false);
  });

  it("renders a comfy_api node as get_v1_info does: COMBO with multiselect and options, every flag present", () => {
    const entry = new NodeRegistry([v3]).objectInfo(env).Schema!;
    expect(entry.input.required.method).toEqual(['COMBO', { multiselect: false, options: ['offset', 'index'] }]);
    expect(entry.input.required.conditioning).toEqual(['CONDITIONING']);
    expect(entry).toMatchObject({ output_tooltips: [null], deprecated: false, experimental: true, api_node: false });
  });
});
