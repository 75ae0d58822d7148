import { describe, it, expect } from 'vitest';
import { MissingNodeTypesError } from './errors.ts';
import { bypassSlot, collectNodeTypes, findMissingNodeTypes, isValidConnection, uiToApi } from './ui-to-api.ts';
import { parseWorkflow, type UiWorkflowV1 } from './workflow.ts';
import { entry, usoObjectInfo } from './test-object-info.ts';
import { TestGraph, subgraphBody } from './test-workflow.ts';

const info = usoObjectInfo();

/**
 * Checkpoint(1) -> Reroute(2) -> Reroute(3) -> LoRA(4, bypassed) -> KSampler(5).model
 * Primitive(6) = 42 -> KSampler.seed (a widget input); muted EmptyLatentImage(7) -> KSampler.latent_image
 * Primitive(10) -> Reroute(11) -> CLIPTextEncode(9).text; a Note(8); CLIPTextEncode(9) -> positive and negative.
 */
function modesWorkflow() {
  const g = new TestGraph();
  g.node(1, 'CheckpointLoaderSimple', { outputs: [['MODEL', 'MODEL'], ['CLIP', 'CLIP'], ['VAE', 'VAE']], widgets: ['flux.safetensors'] });
  g.node(2, 'Reroute', { inputs: [['', '*']], outputs: [['', 'MODEL']] });
  g.node(3, 'Reroute', { inputs: [['', '*']], outputs: [['', 'MODEL']] });
  g.node(4, 'LoraLoaderModelOnly', { mode: 4, inputs: [['model', 'MODEL']], outputs: [['MODEL', 'MODEL']], widgets: ['lora.safetensors', 1] });
  g.node(5, 'KSampler', {
    title: 'My sampler',
    inputs: [['model', 'MODEL'], ['positive', 'CONDITIONING'], ['negative', 'CONDITIONING'], ['latent_image', 'LATENT'], ['seed', 'INT', true]],
    outputs: [['LATENT', 'LATENT']],
    widgets: [7, 'randomize', 12, 4.5, 'euler', 'simple', 0.8],
  });
  g.node(6, 'PrimitiveNode', { outputs: [['INT', 'INT']], widgets: [42, 'fixed'] });
  g.node(7, 'EmptyLatentImage', { mode: 2, outputs: [['LATENT', 'LATENT']], widgets: [512, 512, 1] });
  g.node(8, 'Note', { widgets: ['remember to bypass the LoRA'] });
  g.node(9, 'CLIPTextEncode', { inputs: [['clip', 'CLIP'], ['text', 'STRING', true]], outputs: [['CONDITIONING', 'CONDITIONING']], widgets: ['old text'] });
  g.node(10, 'PrimitiveNode', { outputs: [['STRING', 'STRING']], widgets: ['a castle'] });
  g.node(11, 'Reroute', { inputs: [['', '*']], outputs: [['', 'STRING']] });
  g.link(1, 0, 2, '', 'MODEL');
  g.link(2, 0, 3, '', 'MODEL');
  g.link(3, 0, 4, 'model', 'MODEL');
  g.link(4, 0, 5, 'model', 'MODEL');
  g.link(6, 0, 5, 'seed', 'INT');
  g.link(7, 0, 5, 'latent_image', 'LATENT');
  g.link(1, 1, 9, 'clip', 'CLIP');
  g.link(10, 0, 11, '', 'STRING');
  g.link(11, 0, 9, 'text', 'STRING');
  g.link(9, 0, 5, 'positive', 'CONDITIONING');
  g.link(9, 0, 5, 'negative', 'CONDITIONING');
  return g.toWorkflow();
}

describe('uiToApi', () => {
  it('handles mute, bypass, reroutes, primitives and notes as the front end does', () => {
    const { prompt } = uiToApi(modesWorkflow(), info);
    expect(prompt).toEqual({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'flux.safetensors' }, _meta: { title: 'Load Checkpoint' } },
      '5': {
        class_type: 'KSampler',
        inputs: {
          seed: 42,
          steps: 12,
          cfg: 4.5,
          sampler_name: 'euler',
          scheduler: 'simple',
          denoise: 0.8,
          model: ['1', 0],
          positive: ['9', 0],
          negative: ['9', 0],
        },
        _meta: { title: 'My sampler' },
      },
      '9': { class_type: 'CLIPTextEncode', inputs: { text: 'a castle', clip: ['1', 1] }, _meta: { title: 'CLIP Text Encode (Prompt)' } },
    });
  });

  it('gives a primitive value nothing when a bypassed node sits in between', () => {
    const g = new TestGraph();
    g.node(1, 'PrimitiveNode', { outputs: [['INT', 'INT']], widgets: [99] });
    g.node(2, 'ImageScaleToMaxDimension', { mode: 4, inputs: [['image', 'IMAGE'], ['largest_size', 'INT', true]], outputs: [['IMAGE', 'IMAGE']], widgets: ['area', 1] });
    g.node(3, 'ImageScaleToMaxDimension', { inputs: [['image', 'IMAGE'], ['largest_size', 'INT', true]], outputs: [['IMAGE', 'IMAGE']], widgets: ['area', 300] });
    g.link(1, 0, 2, 'largest_size', 'INT');
    g.link(2, 0, 3, 'largest_size', 'INT');
    expect(uiToApi(g.toWorkflow(), info).prompt['3']!.inputs).toEqual({ upscale_method: 'area', largest_size: 300 });
  });

  it('routes a bypassed node through its first input of the matching type', () => {
    const objectInfo = {
      Src: entry('Src', {}, ['LATENT', 'MODEL']),
      Both: entry('Both', { latent: ['LATENT'], model: ['MODEL'] }, ['MODEL']),
      Use: entry('Use', { model: ['MODEL'] }, []),
    };
    const g = new TestGraph();
    g.node(1, 'Src', { outputs: [['LATENT', 'LATENT'], ['MODEL', 'MODEL']] });
    g.node(2, 'Both', { mode: 4, inputs: [['latent', 'LATENT'], ['model', 'MODEL']], outputs: [['MODEL', 'MODEL']] });
    g.node(3, 'Use', { inputs: [['model', 'MODEL']] });
    g.link(1, 0, 2, 'latent', 'LATENT');
    g.link(1, 1, 2, 'model', 'MODEL');
    g.link(2, 0, 3, 'model', 'MODEL');
    expect(uiToApi(g.toWorkflow(), objectInfo).prompt['3']!.inputs).toEqual({ model: ['1', 1] });
  });

  it('drops inputs linked to muted nodes, even widget inputs', () => {
    const g = new TestGraph();
    g.node(1, 'ImageScaleToMaxDimension', { mode: 2, inputs: [['image', 'IMAGE']], outputs: [['IMAGE', 'IMAGE']], widgets: ['area', 5] });
    g.node(2, 'SaveImage', { inputs: [['images', 'IMAGE'], ['filename_prefix', 'STRING', true]], widgets: ['out'] });
    g.link(1, 0, 2, 'images', 'IMAGE');
    expect(uiToApi(g.toWorkflow(), info).prompt).toEqual({ '2': { class_type: 'SaveImage', inputs: { filename_prefix: 'out' }, _meta: { title: 'Save Image' } } });
  });

  it('skips the control, filter and upload values and wraps list values', () => {
    const objectInfo = {
      Pick: entry('Pick', { choice: [['a', 'b'], { control_after_generate: true }], image: [['x.png'], { image_upload: true }], size: ['INT'] }, ['INT']),
    };
    const g = new TestGraph();
    g.node(1, 'Pick', { outputs: [['INT', 'INT']], widgets: ['b', 'increment', 'b|c', 'x.png', 64, 'image'] });
    g.node(2, 'Pick', { outputs: [['INT', 'INT']], widgets: { choice: 'a', image: 'y.png', size: [1, 2] } });
    const { prompt } = uiToApi(g.toWorkflow(), objectInfo);
    expect(prompt['1']!.inputs).toEqual({ choice: 'b', image: 'x.png', size: 64 });
    expect(prompt['2']!.inputs).toEqual({ choice: 'a', image: 'y.png', size: { __value__: [1, 2] } });
  });

  it('fills widgets missing from widgets_values with their defaults', () => {
    const g = new TestGraph();
    g.node(1, 'EmptyLatentImage', { outputs: [['LATENT', 'LATENT']], widgets: [768] });
    expect(uiToApi(g.toWorkflow(), info).prompt['1']!.inputs).toEqual({ width: 768, height: 512, batch_size: 1 });
  });

  it('expands dynamic prompts in widgets that declare them, with the given random source', () => {
    const g = new TestGraph();
    g.node(1, 'CheckpointLoaderSimple', { outputs: [['MODEL', 'MODEL'], ['CLIP', 'CLIP'], ['VAE', 'VAE']], widgets: ['m'] });
    g.node(2, 'CLIPTextEncode', { inputs: [['clip', 'CLIP']], outputs: [['CONDITIONING', 'CONDITIONING']], widgets: ['a {red|blue} car // note'] });
    g.node(3, 'SaveImage', { inputs: [['images', 'IMAGE']], widgets: ['{keep|braces}'] });
    g.link(1, 1, 2, 'clip', 'CLIP');
    const { prompt } = uiToApi(g.toWorkflow(), info, { random: () => 0.99 });
    expect(prompt['2']!.inputs.text).toBe('a blue car ');
    // SaveImage's filename_prefix does not declare dynamicPrompts.
    expect(prompt['3']!.inputs.filename_prefix).toBe('{keep|braces}');
  });

  it('reads version 1 files too', () => {
    const v1: UiWorkflowV1 = {
      version: 1,
      state: { lastNodeId: 2, lastLinkId: 1 },
      nodes: [
        { id: 1, type: 'CheckpointLoaderSimple', mode: 0, outputs: [{ name: 'MODEL', type: 'MODEL', links: [1] }], widgets_values: ['m.safetensors'] },
        { id: 2, type: 'LoraLoaderModelOnly', mode: 0, inputs: [{ name: 'model', type: 'MODEL', link: 1 }], widgets_values: ['l.safetensors', 0.5] },
      ],
      links: [{ id: 1, origin_id: 1, origin_slot: 0, target_id: 2, target_slot: 0, type: 'MODEL' }],
    };
    expect(uiToApi(v1, info).prompt['2']!.inputs).toEqual({ lora_name: 'l.safetensors', strength_model: 0.5, model: ['1', 0] });
    expect(uiToApi(parseWorkflow(v1), info).prompt['2']!.inputs.model).toEqual(['1', 0]);
  });
});

describe('missing node types', () => {
  function workflowWithSubgraph() {
    const body = subgraphBody([], []);
    body.node(1, 'InnerOnly', {});
    body.node(2, 'KSampler', {});
    const root = new TestGraph();
    root.node(1, 'Zeta', { mode: 2 });
    root.node(2, 'Alpha', {});
    root.node(3, 'Alpha', {});
    root.node(4, 'sub', {});
    root.node(5, 'Reroute', {});
    root.node(6, 'CheckpointLoaderSimple', {});
    return root.toWorkflow([body.toSubgraph('sub', 'Sub')]);
  }

  it('collects every class, inside subgraphs too, without instance ids', () => {
    expect(collectNodeTypes(workflowWithSubgraph())).toEqual(['Alpha', 'CheckpointLoaderSimple', 'InnerOnly', 'KSampler', 'Reroute', 'Zeta']);
  });

  it('lists every missing class, sorted and unique, muted ones included', () => {
    expect(findMissingNodeTypes(workflowWithSubgraph(), info)).toEqual(['Alpha', 'InnerOnly', 'Zeta']);
    let caught: unknown;
    try {
      uiToApi(workflowWithSubgraph(), info);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MissingNodeTypesError);
    expect((caught as MissingNodeTypesError).types).toEqual(['Alpha', 'InnerOnly', 'Zeta']);
  });

  it('counts an instance of an undefined subgraph as a missing type', () => {
    const root = new TestGraph();
    root.node(1, '0a0a0a0a-0000-4000-8000-000000000000', {});
    expect(findMissingNodeTypes(root.toWorkflow(), info)).toEqual(['0a0a0a0a-0000-4000-8000-000000000000']);
  });
});

describe('link type rules', () => {
  it('matches litegraph connection rules', () => {
    expect(isValidConnection('MODEL', 'MODEL')).toBe(true);
    expect(isValidConnection('*', 'IMAGE')).toBe(true);
    expect(isValidConnection('', 'IMAGE')).toBe(true);
    expect(isValidConnection('image', 'IMAGE')).toBe(true);
    expect(isValidConnection('IMAGE,MASK', 'MASK')).toBe(true);
    expect(isValidConnection('IMAGE', 'LATENT')).toBe(false);
  });

  it('chooses the bypass input: same slot, then exact type, then compatible', () => {
    const inputs = [{ type: 'LATENT' }, { type: 'MODEL' }, { type: 'IMAGE,MASK' }];
    expect(bypassSlot(inputs, 'MODEL', 1, 'MODEL')).toBe(1);
    expect(bypassSlot(inputs, 'MODEL', 0, 'MODEL')).toBe(1);
    expect(bypassSlot(inputs, 'MASK', 0, 'MASK')).toBe(2);
    expect(bypassSlot(inputs, 'CLIP', 0, 'CLIP')).toBeUndefined();
    expect(bypassSlot(inputs, '*', 2, '*')).toBe(2);
    expect(bypassSlot([], '*', 0, '*')).toBeUndefined();
  });
});
