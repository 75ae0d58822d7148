/**
 * A small node set shaped like a text-to-image pipeline, and a builder for valid prompts of any size over it. It
 * exists for the validation tests, the fuzz test and bench/validation.bench.ts; the engine never loads it.
 */
import type { ApiPrompt, HostEnvironment, NodeDefinition } from '../node-api.ts';
import { defineNode } from '../node-api.ts';
import { NodeRegistry } from '../registry.ts';

const noop = () => ({ outputs: [] });

/** An environment whose models folder "contains" two checkpoints; the combo reads it through `services`. */
export const sampleEnv: HostEnvironment = {
  inputDir: '/in',
  outputDir: '/out',
  tempDir: '/tmp',
  modelsDir: '/models',
  services: { checkpoints: ['flux1-dev.safetensors', 'uso.safetensors'] },
};

export const sampleNodes: readonly NodeDefinition[] = [
  defineNode({
    name: 'CheckpointLoader',
    category: 'loaders',
    inputs: {
      required: {
        ckpt_name: { type: 'COMBO', options: (env) => (env.services?.['checkpoints'] as string[] | undefined) ?? [] },
      },
    },
    outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }],
    execute: noop,
  }),
  defineNode({
    name: 'TextEncode',
    category: 'conditioning',
    inputs: { required: { text: { type: 'STRING', multiline: true }, clip: { type: 'CLIP' } } },
    outputs: [{ type: 'CONDITIONING' }],
    execute: noop,
  }),
  defineNode({
    name: 'EmptyLatent',
    category: 'latent',
    inputs: {
      required: {
        width: { type: 'INT', default: 1024, min: 16, max: 8192, step: 16 },
        height: { type: 'INT', default: 1024, min: 16, max: 8192, step: 16 },
        batch_size: { type: 'INT', default: 1, min: 1, max: 64 },
      },
    },
    outputs: [{ type: 'LATENT' }],
    execute: noop,
  }),
  defineNode({
    name: 'Sampler',
    category: 'sampling',
    inputs: {
      required: {
        model: { type: 'MODEL' },
        seed: { type: 'INT', default: 0, min: 0, max: 0xffffffffffffffff, control_after_generate: true },
        steps: { type: 'INT', default: 20, min: 1, max: 10000 },
        cfg: { type: 'FLOAT', default: 1, min: 0, max: 100, step: 0.1 },
        sampler_name: { type: 'COMBO', options: ['euler', 'dpmpp_2m', 'uni_pc'] },
        positive: { type: 'CONDITIONING' },
        negative: { type: 'CONDITIONING' },
        latent_image: { type: 'LATENT' },
        denoise: { type: 'FLOAT', default: 1, min: 0, max: 1 },
      },
    },
    outputs: [{ type: 'LATENT' }],
    execute: noop,
  }),
  defineNode({
    name: 'Decode',
    category: 'latent',
    inputs: { required: { samples: { type: 'LATENT' }, vae: { type: 'VAE' } } },
    outputs: [{ type: 'IMAGE' }],
    execute: noop,
  }),
  defineNode({
    name: 'Scale',
    category: 'image',
    inputs: {
      required: {
        image: { type: 'IMAGE' },
        method: { type: 'COMBO', options: ['nearest', 'bilinear', 'lanczos'] },
        factor: { type: 'FLOAT', default: 1, min: 0.01, max: 8 },
      },
      optional: { crop: { type: 'BOOLEAN', default: false } },
    },
    outputs: [{ type: 'IMAGE' }],
    execute: noop,
  }),
  defineNode({
    name: 'Blend',
    category: 'image',
    inputs: {
      required: { a: { type: 'IMAGE' }, b: { type: 'IMAGE', lazy: true }, factor: { type: 'FLOAT', default: 0.5, min: 0, max: 1 } },
    },
    outputs: [{ type: 'IMAGE' }],
    execute: noop,
  }),
  defineNode({
    name: 'AnyPass',
    category: 'utils',
    inputs: { required: { value: { type: '*' } } },
    outputs: [{ type: '*' }],
    execute: noop,
  }),
  defineNode({
    name: 'ToMask',
    category: 'mask',
    inputs: { required: { image: { type: 'IMAGE' } } },
    outputs: [{ type: 'MASK' }],
    execute: noop,
  }),
  defineNode({
    name: 'Preview',
    category: 'image',
    inputs: { required: { images: { type: 'IMAGE,MASK' } } },
    outputs: [],
    outputNode: true,
    execute: noop,
  }),
  defineNode({
    name: 'Save',
    category: 'image',
    inputs: {
      required: { images: { type: 'IMAGE' }, filename_prefix: { type: 'STRING', default: 'USO' } },
      hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
    },
    outputs: [],
    outputNode: true,
    // Mirrors a real concern: a prefix that climbs out of the output folder.
    validate: (inputs) => (String(inputs['filename_prefix']).includes('..') ? 'filename_prefix must not contain ..' : true),
    execute: noop,
  }),
];

export function sampleRegistry(): NodeRegistry {
  return new NodeRegistry(sampleNodes);
}

/**
 * A valid prompt of exactly `size` nodes (at least 8): loader, two encoders, latent, sampler and decoder, then a chain
 * of Scale/Blend image nodes with a Save every eight nodes and a Preview at the end.
 */
export function sampleWorkflow(size: number): ApiPrompt {
  const n = Math.max(8, Math.floor(size));
  const prompt: ApiPrompt = {
    '1': { class_type: 'CheckpointLoader', inputs: { ckpt_name: 'uso.safetensors' } },
    '2': { class_type: 'TextEncode', inputs: { text: 'a cat in the style of the reference', clip: ['1', 1] } },
    '3': { class_type: 'TextEncode', inputs: { text: '', clip: ['1', 1] } },
    '4': { class_type: 'EmptyLatent', inputs: { width: 1024, height: 1024, batch_size: 1 } },
    '5': {
      class_type: 'Sampler',
      inputs: {
        model: ['1', 0], seed: 123456789, steps: 28, cfg: 1, sampler_name: 'euler',
        positive: ['2', 0], negative: ['3', 0], latent_image: ['4', 0], denoise: 1,
      },
    },
    '6': { class_type: 'Decode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
  };
  let last = '6';
  for (let id = 7; id < n; id++) {
    const key = String(id);
    if (id % 8 === 0) {
      prompt[key] = { class_type: 'Save', inputs: { images: [last, 0], filename_prefix: `USO_${id}` } };
    } else if (id % 3 === 0) {
      prompt[key] = { class_type: 'Blend', inputs: { a: [last, 0], b: ['6', 0], factor: 0.25 } };
      last = key;
    } else {
      prompt[key] = { class_type: 'Scale', inputs: { image: [last, 0], method: 'bilinear', factor: 1.5, crop: id % 2 === 0 } };
      last = key;
    }
  }
  prompt[String(n)] = { class_type: 'Preview', inputs: { images: [last, 0] } };
  return prompt;
}
