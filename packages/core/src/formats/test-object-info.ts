/**
 * Test support: /object_info entries for the ComfyUI classes the USO workflows use, written in the wire shape with
 * the inputs (names, order, widget options) ComfyUI declares. Only tests import this file (the editor's too).
 */
import type { ObjectInfoEntry } from '../registry.ts';

type Inputs = Record<string, unknown[]>;

export function entry(name: string, required: Inputs, output: string[], extra: { optional?: Inputs; outputNames?: string[]; outputNode?: boolean; displayName?: string; category?: string } = {}): ObjectInfoEntry {
  const info: ObjectInfoEntry = {
    input: { required },
    input_order: { required: Object.keys(required) },
    output,
    output_is_list: output.map(() => false),
    output_name: extra.outputNames ?? output,
    name,
    display_name: extra.displayName ?? name,
    description: '',
    category: extra.category ?? 'test',
    output_node: extra.outputNode ?? false,
    python_module: 'nodes',
  };
  if (extra.optional) {
    info.input.optional = extra.optional;
    info.input_order.optional = Object.keys(extra.optional);
  }
  return info;
}

const files = (...names: string[]) => [names];

/** Every class used by the seven fixtures, USO classes included. */
export function usoObjectInfo(): Record<string, ObjectInfoEntry> {
  const list = [
    entry('CheckpointLoaderSimple', { ckpt_name: files('flux1-dev-fp8.safetensors') }, ['MODEL', 'CLIP', 'VAE'], { displayName: 'Load Checkpoint' }),
    entry('LoraLoaderModelOnly', { model: ['MODEL'], lora_name: files('uso-flux1-dit-lora-v1.safetensors'), strength_model: ['FLOAT', { default: 1, min: -100, max: 100, step: 0.01 }] }, ['MODEL']),
    entry('ModelPatchLoader', { name: files('uso-flux1-projector-v1.safetensors') }, ['MODEL_PATCH']),
    entry('CLIPVisionLoader', { clip_name: files('sigclip_vision_patch14_384.safetensors') }, ['CLIP_VISION'], { displayName: 'Load CLIP Vision' }),
    entry('CLIPVisionEncode', { clip_vision: ['CLIP_VISION'], image: ['IMAGE'], crop: [['center', 'none']] }, ['CLIP_VISION_OUTPUT']),
    entry('USOStyleReference', { model: ['MODEL'], model_patch: ['MODEL_PATCH'], clip_vision_output: ['CLIP_VISION_OUTPUT'] }, ['MODEL']),
    entry('LoadImage', { image: [['input.png', 'ref.webp'], { image_upload: true }] }, ['IMAGE', 'MASK'], { displayName: 'Load Image' }),
    entry('ImageScaleToMaxDimension', { image: ['IMAGE'], upscale_method: [['area', 'lanczos']], largest_size: ['INT', { default: 512, min: 0, max: 16384, step: 1 }] }, ['IMAGE']),
    entry('VAEEncode', { pixels: ['IMAGE'], vae: ['VAE'] }, ['LATENT'], { displayName: 'VAE Encode' }),
    entry('VAEDecode', { samples: ['LATENT'], vae: ['VAE'] }, ['IMAGE'], { displayName: 'VAE Decode' }),
    entry('CLIPTextEncode', { text: ['STRING', { multiline: true, dynamicPrompts: true }], clip: ['CLIP'] }, ['CONDITIONING'], { displayName: 'CLIP Text Encode (Prompt)' }),
    entry('ConditioningZeroOut', { conditioning: ['CONDITIONING'] }, ['CONDITIONING']),
    entry('ReferenceLatent', { conditioning: ['CONDITIONING'] }, ['CONDITIONING'], { optional: { latent: ['LATENT'] } }),
    entry('FluxGuidance', { conditioning: ['CONDITIONING'], guidance: ['FLOAT', { default: 3.5, min: 0, max: 100, step: 0.1 }] }, ['CONDITIONING']),
    entry('FluxKontextMultiReferenceLatentMethod', { conditioning: ['CONDITIONING'], reference_latents_method: [['offset', 'index', 'uxo/uno', 'uso']] }, ['CONDITIONING']),
    entry('EmptyLatentImage', { width: ['INT', { default: 512, min: 16, max: 16384, step: 8 }], height: ['INT', { default: 512, min: 16, max: 16384, step: 8 }], batch_size: ['INT', { default: 1, min: 1, max: 4096 }] }, ['LATENT']),
    entry('EmptySD3LatentImage', { width: ['INT', { default: 1024, min: 16, max: 16384, step: 16 }], height: ['INT', { default: 1024, min: 16, max: 16384, step: 16 }], batch_size: ['INT', { default: 1, min: 1, max: 4096 }] }, ['LATENT']),
    entry(
      'KSampler',
      {
        model: ['MODEL'],
        seed: ['INT', { default: 0, min: 0, max: 0xffffffffffffffff, control_after_generate: true }],
        steps: ['INT', { default: 20, min: 1, max: 10000 }],
        cfg: ['FLOAT', { default: 8, min: 0, max: 100, step: 0.1, round: 0.01 }],
        sampler_name: [['euler', 'dpmpp_2m']],
        scheduler: [['simple', 'karras']],
        positive: ['CONDITIONING'],
        negative: ['CONDITIONING'],
        latent_image: ['LATENT'],
        denoise: ['FLOAT', { default: 1, min: 0, max: 1, step: 0.01 }],
      },
      ['LATENT'],
    ),
    entry('EasyCache', { model: ['MODEL'], reuse_threshold: ['FLOAT', { default: 0.2 }], start_percent: ['FLOAT', { default: 0.15 }], end_percent: ['FLOAT', { default: 0.95 }], verbose: ['BOOLEAN', { default: false }] }, ['MODEL']),
    entry('SaveImage', { images: ['IMAGE'], filename_prefix: ['STRING', { default: 'ComfyUI' }] }, [], { outputNode: true, displayName: 'Save Image' }),
  ];
  return Object.fromEntries(list.map((e) => [e.name, e]));
}

/** The same, without the classes the USO model adds. */
export function objectInfoWithout(...names: string[]): Record<string, ObjectInfoEntry> {
  const info = usoObjectInfo();
  for (const name of names) delete info[name];
  return info;
}
