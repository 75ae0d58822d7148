import { describe, expect, it } from 'vitest';
import { defineNode, NodeRegistry, type ApiPrompt, type HostEnvironment } from '@uso-studio/core';
import { missingModelFiles, promptNeeds } from './prompt-needs.ts';

const env: HostEnvironment = { inputDir: 'i', outputDir: 'o', tempDir: 't', modelsDir: 'm' };

const registry = new NodeRegistry([
  defineNode({
    name: 'Loader',
    category: 'testing',
    inputs: {
      required: { ckpt_name: { type: 'COMBO', options: (e) => (e.modelsDir === 'm' ? ['here.safetensors'] : []), modelFolder: 'checkpoints' } },
      optional: { lora_name: { type: 'COMBO', options: ['lora-here.safetensors'], modelFolder: 'loras' }, note: { type: 'STRING' } },
    },
    outputs: [{ type: 'MODEL' }],
    execute: () => ({ outputs: [null] }),
  }),
  defineNode({
    name: 'Picture',
    category: 'testing',
    inputs: { required: { image: { type: 'COMBO', options: [], image_upload: true } } },
    outputs: [{ type: 'IMAGE' }],
    execute: () => ({ outputs: [null] }),
  }),
]);

const prompt: ApiPrompt = {
  a: { class_type: 'Loader', inputs: { ckpt_name: 'here.safetensors', lora_name: 'gone.safetensors', note: 'not a file' } },
  b: { class_type: 'Loader', inputs: { ckpt_name: 'away.safetensors', lora_name: 'lora-here.safetensors' } },
  c: { class_type: 'Picture', inputs: { image: 'cat.png [input]' } },
  d: { class_type: 'Picture', inputs: { image: ['c', 0] } },
  e: { class_type: 'NotRegistered', inputs: { ckpt_name: 'ignored.safetensors' } },
  f: { class_type: 'Loader', inputs: { ckpt_name: 'here.safetensors', undeclared: 'x.safetensors' } },
};

describe('promptNeeds', () => {
  it('lists model files as folder/name and input images without the [input] note, sorted and once each', () => {
    expect(promptNeeds(prompt, registry)).toEqual({
      models: ['checkpoints/away.safetensors', 'checkpoints/here.safetensors', 'loras/gone.safetensors', 'loras/lora-here.safetensors'],
      inputs: ['cat.png'],
    });
  });
});

describe('missingModelFiles', () => {
  it("names the model files the input's own combo does not offer on this host", () => {
    expect(missingModelFiles(prompt, registry, env)).toEqual(['checkpoints/away.safetensors', 'loras/gone.safetensors']);
    expect(missingModelFiles(prompt, registry, { ...env, modelsDir: 'elsewhere' })).toEqual([
      'checkpoints/away.safetensors',
      'checkpoints/here.safetensors',
      'loras/gone.safetensors',
    ]);
  });
});
