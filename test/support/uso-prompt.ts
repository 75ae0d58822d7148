/**
 * ComfyUI's USO template graph (flux1_dev_uso_reference_image_gen) in API form over the demo model set's
 * `uso-demo-*` files, for the tests that run real model nodes: nodes/uso's end-to-end test and the server's.
 */
import type { ApiPrompt } from '../../packages/core/src/index.ts';

export interface UsoPromptOptions {
  width?: number;
  height?: number;
  batch?: number;
  steps?: number;
  seed?: number;
  text?: string;
  /** Reference latent from the demo subject picture (scaled to `subjectSize`); default true. */
  subject?: boolean;
  subjectSize?: number;
  /** Style tokens from the demo style picture; default true. */
  style?: boolean;
  prefix?: string;
}

/** The template graph; without the subject or the style, the nodes that only feed them are left out. */
export function usoPrompt(o: UsoPromptOptions = {}): ApiPrompt {
  const subject = o.subject ?? true;
  const style = o.style ?? true;
  const p: ApiPrompt = {
    ckpt: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'uso-demo-flux-checkpoint.safetensors' } },
    lora: { class_type: 'LoraLoaderModelOnly', inputs: { model: ['ckpt', 0], lora_name: 'uso-demo-dit-lora.safetensors', strength_model: 1 } },
    patch: { class_type: 'ModelPatchLoader', inputs: { name: 'uso-demo-projector.safetensors' } },
    vision: { class_type: 'CLIPVisionLoader', inputs: { clip_name: 'uso-demo-siglip-vision.safetensors' } },
    styleImage: { class_type: 'LoadImage', inputs: { image: 'uso-demo-style-a.png' } },
    styleEnc: { class_type: 'CLIPVisionEncode', inputs: { clip_vision: ['vision', 0], image: ['styleImage', 0], crop: 'center' } },
    style: { class_type: 'USOStyleReference', inputs: { model: ['lora', 0], model_patch: ['patch', 0], clip_vision_output: ['styleEnc', 0] } },
    subject: { class_type: 'LoadImage', inputs: { image: 'uso-demo-subject.png' } },
    scaled: { class_type: 'ImageScaleToMaxDimension', inputs: { image: ['subject', 0], upscale_method: 'area', largest_size: o.subjectSize ?? 256 } },
    refLatent: { class_type: 'VAEEncode', inputs: { pixels: ['scaled', 0], vae: ['ckpt', 2] } },
    text: { class_type: 'CLIPTextEncode', inputs: { text: o.text ?? '', clip: ['ckpt', 1] } },
    ref: { class_type: 'ReferenceLatent', inputs: { conditioning: ['text', 0], latent: ['refLatent', 0] } },
    method: { class_type: 'FluxKontextMultiReferenceLatentMethod', inputs: { conditioning: [subject ? 'ref' : 'text', 0], reference_latents_method: 'uxo/uno' } },
    guidance: { class_type: 'FluxGuidance', inputs: { conditioning: ['method', 0], guidance: 3.5 } },
    negative: { class_type: 'ConditioningZeroOut', inputs: { conditioning: ['text', 0] } },
    empty: { class_type: 'EmptyLatentImage', inputs: { width: o.width ?? 256, height: o.height ?? 256, batch_size: o.batch ?? 1 } },
    sampler: {
      class_type: 'KSampler',
      inputs: { model: [style ? 'style' : 'lora', 0], seed: o.seed ?? 7, steps: o.steps ?? 1, cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: ['guidance', 0], negative: ['negative', 0], latent_image: ['empty', 0], denoise: 1 },
    },
    decode: { class_type: 'VAEDecode', inputs: { samples: ['sampler', 0], vae: ['ckpt', 2] } },
    save: { class_type: 'SaveImage', inputs: { images: ['decode', 0], filename_prefix: o.prefix ?? 'uso' } },
  };
  if (!subject) for (const k of ['ref', 'refLatent', 'scaled', 'subject']) delete p[k];
  if (!style) for (const k of ['style', 'styleEnc', 'styleImage', 'vision', 'patch']) delete p[k];
  return p;
}
