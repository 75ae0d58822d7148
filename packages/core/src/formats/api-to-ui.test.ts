import { describe, it, expect } from 'vitest';
import type { ApiPrompt } from '../node-api.ts';
import { MissingNodeTypesError, WorkflowFormatError } from './errors.ts';
import { apiToUi, estimateNodeSize } from './api-to-ui.ts';
import { uiToApi } from './ui-to-api.ts';
import { parseWorkflow, serializeWorkflow, type WorkflowNode } from './workflow.ts';
import { usoObjectInfo } from './test-object-info.ts';

const info = usoObjectInfo();

/** A text-to-image prompt in the front end's own form (every widget input present, titles set). */
function prompt(): ApiPrompt {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'flux1-dev-fp8.safetensors' }, _meta: { title: 'Load Checkpoint' } },
    '10': { class_type: 'LoraLoaderModelOnly', inputs: { lora_name: 'uso-flux1-dit-lora-v1.safetensors', strength_model: 0.8, model: ['4', 0] }, _meta: { title: 'LoRA' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a castle', clip: ['4', 1] }, _meta: { title: 'Positive' } },
    '7': { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['6', 0] }, _meta: { title: 'ConditioningZeroOut' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 1024, height: 768, batch_size: 1 }, _meta: { title: 'EmptyLatentImage' } },
    '12': { class_type: 'LoadImage', inputs: { image: 'ref.webp' }, _meta: { title: 'Load Image' } },
    '13': { class_type: 'ImageScaleToMaxDimension', inputs: { upscale_method: 'area', largest_size: ['14', 0], image: ['12', 0] }, _meta: { title: 'ImageScaleToMaxDimension' } },
    '14': { class_type: 'EasyCache', inputs: { reuse_threshold: 0.2, start_percent: 0.15, end_percent: 0.95, verbose: false, model: ['10', 0] }, _meta: { title: 'EasyCache' } },
    '3': {
      class_type: 'KSampler',
      inputs: { seed: 123456789, steps: 20, cfg: 1, sampler_name: 'euler', scheduler: 'simple', denoise: 1, model: ['14', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
      _meta: { title: 'KSampler' },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] }, _meta: { title: 'VAE Decode' } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] }, _meta: { title: 'Save Image' } },
  };
}

const nodeById = (nodes: WorkflowNode[], id: number | string) => nodes.find((n) => n.id === id)!;

describe('apiToUi', () => {
  it('round-trips through uiToApi', () => {
    const p = prompt();
    // '13' links an INT widget input (largest_size) to a MODEL output on purpose: the converter keeps what it is given.
    expect(uiToApi(apiToUi(p, info), info).prompt).toEqual(p);
  });

  it('writes widget values in widget order, with a fixed control value after the seed', () => {
    const ui = apiToUi(prompt(), info);
    expect(nodeById(ui.nodes, 3).widgets_values).toEqual([123456789, 'fixed', 20, 1, 'euler', 'simple', 1]);
    expect(nodeById(ui.nodes, 12).widgets_values).toEqual(['ref.webp', 'image']);
    // A linked widget keeps a placeholder value in its position.
    expect(nodeById(ui.nodes, 13).widgets_values).toEqual(['area', 512]);
  });

  it('makes real links with the source output type, saving sockets and linked widget inputs only', () => {
    const ui = apiToUi(prompt(), info);
    const sampler = nodeById(ui.nodes, 3);
    expect(sampler.inputs!.map((i) => [i.name, i.type, i.widget?.name])).toEqual([
      ['model', 'MODEL', undefined], ['positive', 'CONDITIONING', undefined], ['negative', 'CONDITIONING', undefined], ['latent_image', 'LATENT', undefined],
    ]);
    const scale = nodeById(ui.nodes, 13);
    expect(scale.inputs!.map((i) => [i.name, i.type, i.widget?.name])).toEqual([['image', 'IMAGE', undefined], ['largest_size', 'INT', 'largest_size']]);
    expect(ui.links).toHaveLength(13);
    for (const [id, originId, originSlot, targetId, targetSlot, type] of ui.links) {
      const origin = nodeById(ui.nodes, originId);
      const target = nodeById(ui.nodes, targetId);
      expect(target.inputs![targetSlot]!.link).toBe(id);
      expect(origin.outputs![originSlot]!.links).toContain(id);
      expect(origin.outputs![originSlot]!.type).toBe(type);
    }
    expect(ui.last_link_id).toBe(13);
    expect(ui.last_node_id).toBe(14);
  });

  it('keeps titles that differ from the display name, and node classes for search and replace', () => {
    const ui = apiToUi(prompt(), info);
    expect(nodeById(ui.nodes, 6).title).toBe('Positive');
    expect(nodeById(ui.nodes, 4)).not.toHaveProperty('title');
    expect(nodeById(ui.nodes, 4).properties).toEqual({ 'Node name for S&R': 'CheckpointLoaderSimple' });
  });

  it('lays nodes out left to right by depth, without overlaps', () => {
    const ui = apiToUi(prompt(), info);
    const rect = (n: WorkflowNode) => {
      const [x, y] = n.pos as [number, number];
      const [w, h] = n.size as [number, number];
      return { x, y: y - 30, w, h: h + 30 };
    };
    for (const [, originId, , targetId] of ui.links) {
      const a = rect(nodeById(ui.nodes, originId));
      expect(a.x + a.w).toBeLessThan(rect(nodeById(ui.nodes, targetId)).x);
    }
    const rects = ui.nodes.map(rect);
    for (let i = 0; i < rects.length; i++) {
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i]!;
        const b = rects[j]!;
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart, `nodes ${ui.nodes[i]!.id} and ${ui.nodes[j]!.id} overlap`).toBe(true);
      }
    }
    // Execution order follows the columns.
    const order = (id: number) => nodeById(ui.nodes, id).order!;
    expect(order(4)).toBeLessThan(order(10));
    expect(order(3)).toBeLessThan(order(8));
  });

  it('sizes nodes from their contents', () => {
    const ui = apiToUi(prompt(), info);
    const [, textHeight] = estimateNodeSize(nodeById(ui.nodes, 6), info.CLIPTextEncode!);
    const [, decodeHeight] = estimateNodeSize(nodeById(ui.nodes, 8), info.VAEDecode!);
    expect(textHeight).toBeGreaterThan(decodeHeight);
    expect(nodeById(ui.nodes, 3).size).toEqual(estimateNodeSize(nodeById(ui.nodes, 3), info.KSampler!));
  });

  it('produces a file parseWorkflow reads and writes back unchanged', () => {
    const ui = apiToUi(prompt(), info);
    expect(serializeWorkflow(parseWorkflow(ui))).toEqual(ui);
  });

  it('keeps flattened string ids and unwraps list values', () => {
    const objectInfo = { ...info, Vec: { ...info.SaveImage!, name: 'Vec', input: { required: { values: ['STRING'] } }, input_order: { required: ['values'] } } };
    const p: ApiPrompt = {
      '57:12': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'a' }, _meta: { title: 'Load Checkpoint' } },
      '57:13': { class_type: 'LoraLoaderModelOnly', inputs: { lora_name: 'b', strength_model: 1, model: ['57:12', 0] }, _meta: { title: 'LoraLoaderModelOnly' } },
      '2': { class_type: 'Vec', inputs: { values: { __value__: ['x', 'y'] } }, _meta: { title: 'Save Image' } },
    };
    const ui = apiToUi(p, objectInfo);
    // Integer-like keys come first in a JS object, so node 2 leads.
    expect(ui.nodes.map((n) => n.id)).toEqual([2, '57:12', '57:13']);
    expect(nodeById(ui.nodes, 2).widgets_values).toEqual([['x', 'y']]);
    expect(uiToApi(ui, objectInfo).prompt).toEqual(p);
  });

  it('handles a long chain without deep recursion, one column per step', () => {
    const p: ApiPrompt = { '1': { class_type: 'CLIPTextEncode', inputs: { text: 't', clip: ['0', 1] }, _meta: { title: 'CLIP Text Encode (Prompt)' } } };
    p['0'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'a' }, _meta: { title: 'Load Checkpoint' } };
    for (let i = 2; i <= 3000; i++) p[String(i)] = { class_type: 'ConditioningZeroOut', inputs: { conditioning: [String(i - 1), 0] }, _meta: { title: 'ConditioningZeroOut' } };
    const ui = apiToUi(p, info);
    const xs = ui.nodes.map((n) => (n.pos as number[])[0]!);
    expect(new Set(xs).size).toBe(3001);
    expect(uiToApi(ui, info).prompt).toEqual(p);
  });

  it('names every missing class', () => {
    const p: ApiPrompt = { ...prompt(), '20': { class_type: 'Zed', inputs: {} }, '21': { class_type: 'Abc', inputs: {} }, '22': { class_type: 'Zed', inputs: {} } };
    expect(() => apiToUi(p, info)).toThrow(MissingNodeTypesError);
    try {
      apiToUi(p, info);
    } catch (error) {
      expect((error as MissingNodeTypesError).types).toEqual(['Abc', 'Zed']);
    }
  });

  it('rejects broken prompts with the node and input named', () => {
    const dangling: ApiPrompt = { '1': { class_type: 'VAEDecode', inputs: { samples: ['9', 0], vae: ['9', 2] } } };
    expect(() => apiToUi(dangling, info)).toThrow(/^1\.inputs\.samples: links to node 9/);
    const badSlot: ApiPrompt = { ...prompt(), '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 4], vae: ['4', 2] } } };
    expect(() => apiToUi(badSlot, info)).toThrow(/output 4 of node 3 \(KSampler\), which has 1 outputs/);
    const cycle: ApiPrompt = {
      '1': { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['2', 0] } },
      '2': { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['1', 0] } },
    };
    expect(() => apiToUi(cycle, info)).toThrow(WorkflowFormatError);
    expect(() => apiToUi([], info)).toThrow(WorkflowFormatError);
    expect(() => apiToUi({ '1': { inputs: {} } }, info)).toThrow(/^1\.class_type/);
  });
});
