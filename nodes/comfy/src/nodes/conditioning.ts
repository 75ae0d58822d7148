/**
 * Text and conditioning nodes: CLIPTextEncode (FLUX: T5-XXL sequence + CLIP-L pooled vector, ComfyUI's token
 * layout and "(text:w)" weighting), CLIPTextEncodeFlux (a text per encoder, plus guidance), ConditioningZeroOut, FluxGuidance, ReferenceLatent and
 * FluxKontextMultiReferenceLatentMethod.
 */

import { defineNode } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import { expectDescriptor, textEncoderRequest, type ClipDescriptor } from '../models/descriptors.ts';
import { getModelService, type ModelService } from '../models/model-service.ts';
import { expectConditioning, setConditioningValues, type ConditioningEntry, type ReferenceLatentsMethod } from '../flux/conditioning.ts';
import { expectLatent } from '../flux/sample.ts';
import { loadTokenizer, t5SpecialIds, textPieces, tokenizeClipFirstChunk, tokenizeT5 } from '../text/tokenizers.ts';

function ids(values: readonly number[]): Tensor<'int64'> {
  return new Tensor('int64', [1, values.length], BigInt64Array.from(values, (v) => BigInt(v)));
}

/**
 * Encodes a prompt for FLUX as ComfyUI does: T5 over the whole weighted token list (plus, when any weight differs
 * from 1, an "empty" sequence [EOS, pad...] of the same length, with z = (z - z_empty) * w + z_empty per weighted
 * token), and the pooled CLIP-L vector of the first 77-token chunk. CLIP-L reads `clipText` when given
 * (CLIPTextEncodeFlux's clip_l), else the same text.
 *
 * A long text is tokenized in pieces with `progress` (the node's, which throws once the prompt is interrupted) called
 * between them, so an interrupt lands during tokenization; a text of one piece reports nothing.
 */
export async function encodePrompt(
  service: ModelService,
  clip: ClipDescriptor,
  text: string,
  progress?: (value: number, max: number) => void,
  clipText: string = text,
): Promise<ConditioningEntry> {
  if (!clip.t5) {
    throw new Error(
      `This CLIP is ${clip.clip?.name ?? 'empty'} alone (CLIPLoader type ${clip.type}): FLUX's conditioning needs T5-XXL; ` +
        'load T5-XXL and CLIP-L with DualCLIPLoader (type flux)',
    );
  }
  const pieces = progress ? textPieces(text).length : 1;
  let done = 0;
  const checkpoint = pieces > 1 ? () => progress!(Math.min(done++, pieces), pieces) : undefined;
  const t5Tok = loadTokenizer(clip.t5.tokenizer);
  const tokens = tokenizeT5(t5Tok, text, 256, checkpoint);
  const hasWeights = tokens.some((t) => t.weight !== 1);
  const n = tokens.length;
  const t5Ids = tokens.map((t) => t.id);
  let feed = ids(t5Ids);
  if (hasWeights) {
    const { eos, pad } = t5SpecialIds(t5Tok);
    const empty = [eos, ...new Array<number>(n - 1).fill(pad)];
    feed = new Tensor('int64', [2, n], BigInt64Array.from([...t5Ids, ...empty], (v) => BigInt(v))); // [2, N]
  }
  const t5Out = (await service.run(textEncoderRequest(clip.t5, 't5'), { input_ids: feed }, ['last_hidden_state'])).last_hidden_state!;
  const ctx = t5Out.shape[2]!;
  const z = new Float32Array((t5Out.data as Float32Array).subarray(0, n * ctx)); // [1, N, ctx]
  if (hasWeights) {
    const zEmpty = (t5Out.data as Float32Array).subarray(n * ctx, 2 * n * ctx);
    tokens.forEach((t, j) => {
      if (t.weight === 1) return;
      for (let k = 0; k < ctx; k++) {
        const e = zEmpty[j * ctx + k]!;
        z[j * ctx + k] = (z[j * ctx + k]! - e) * t.weight + e;
      }
    });
  }
  const cond = Tensor.float32([1, n, ctx], z);
  // A T5-XXL alone (CLIPLoader) gives no pooled vector; the DiT then reads zeros, as ComfyUI's FLUX does for y = None.
  if (!clip.clip) return { cond, pooled_output: null };
  const clipTok = loadTokenizer(clip.clip.tokenizer);
  const pooled = (await service.run(textEncoderRequest(clip.clip, 'clip'), { input_ids: ids(tokenizeClipFirstChunk(clipTok, clipText, checkpoint)) }, ['pooled'])).pooled!;
  return { cond, pooled_output: Tensor.float32([1, pooled.shape[1]!], new Float32Array(pooled.data as Float32Array)) };
}

function expectClip(value: unknown): ClipDescriptor {
  if (value === null || value === undefined) {
    throw new Error('ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node your checkpoint does not contain a valid clip or text encoder model.');
  }
  return expectDescriptor<'CLIP', ClipDescriptor>(value, 'CLIP', 'clip');
}

export const clipTextEncode = defineNode({
  name: 'CLIPTextEncode',
  displayName: 'CLIP Text Encode (Prompt)',
  category: 'conditioning',
  description: 'Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.',
  pack: 'nodes',
  inputs: {
    required: {
      text: { type: 'STRING', multiline: true, dynamicPrompts: true, tooltip: 'The text to be encoded.' },
      clip: { type: 'CLIP', tooltip: 'The CLIP model used for encoding the text.' },
    },
  },
  outputs: [{ type: 'CONDITIONING', tooltip: 'A conditioning containing the embedded text used to guide the diffusion model.' }],
  async execute(inputs, context) {
    const clip = expectClip(inputs.clip);
    const entry = await encodePrompt(getModelService(context.env), clip, String(inputs.text ?? ''), (value, max) => context.progress(value, max));
    return { outputs: [[entry]] };
  },
});

export const clipTextEncodeFlux = defineNode({
  name: 'CLIPTextEncodeFlux',
  category: 'advanced/conditioning/flux',
  pack: 'comfy_extras.nodes_flux',
  comfyApi: 'v3',
  inputs: {
    required: {
      clip: { type: 'CLIP' },
      clip_l: { type: 'STRING', multiline: true, dynamicPrompts: true },
      t5xxl: { type: 'STRING', multiline: true, dynamicPrompts: true },
      guidance: { type: 'FLOAT', default: 3.5, min: 0.0, max: 100.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  async execute(inputs, context) {
    const clip = expectClip(inputs.clip);
    // ComfyUI tokenizes clip_l for both encoders and then swaps in the T5 tokens of t5xxl.
    const entry = await encodePrompt(
      getModelService(context.env),
      clip,
      String(inputs.t5xxl ?? ''),
      (value, max) => context.progress(value, max),
      String(inputs.clip_l ?? ''),
    );
    return { outputs: [[{ ...entry, guidance: Number(inputs.guidance) }]] };
  },
});

export const conditioningZeroOut = defineNode({
  name: 'ConditioningZeroOut',
  category: 'advanced/conditioning',
  pack: 'nodes',
  inputs: { required: { conditioning: { type: 'CONDITIONING' } } },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    const conditioning = expectConditioning(inputs.conditioning, 'conditioning');
    const zeroed = conditioning.map((entry) => ({
      ...entry,
      cond: Tensor.zeros(entry.cond.shape),
      pooled_output: entry.pooled_output ? Tensor.zeros(entry.pooled_output.shape) : null,
    }));
    return { outputs: [zeroed] };
  },
});

export const fluxGuidance = defineNode({
  name: 'FluxGuidance',
  category: 'advanced/conditioning/flux',
  pack: 'comfy_extras.nodes_flux',
  comfyApi: 'v3',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      guidance: { type: 'FLOAT', default: 3.5, min: 0.0, max: 100.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    return { outputs: [setConditioningValues(expectConditioning(inputs.conditioning, 'conditioning'), { guidance: Number(inputs.guidance) })] };
  },
});

export const referenceLatent = defineNode({
  name: 'ReferenceLatent',
  category: 'advanced/conditioning/edit_models',
  description: 'This node sets the guiding latent for an edit model. If the model supports it you can chain multiple to set multiple reference images.',
  pack: 'comfy_extras.nodes_edit_model',
  comfyApi: 'v3',
  inputs: {
    required: { conditioning: { type: 'CONDITIONING' } },
    optional: { latent: { type: 'LATENT' } },
  },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    const conditioning = expectConditioning(inputs.conditioning, 'conditioning');
    if (inputs.latent === undefined || inputs.latent === null) return { outputs: [conditioning] };
    const samples = expectLatent(inputs.latent, 'latent').samples;
    // conditioning_set_values(..., append=True): the list grows, earlier references stay first.
    const next = conditioning.map((entry) => ({ ...entry, reference_latents: [...(entry.reference_latents ?? []), samples] }));
    return { outputs: [next] };
  },
});

/**
 * The method names ComfyUI v0.3.64 offers, plus 'uso', which ComfyUI's own USO template stores in this widget
 * (it maps every value containing "uxo" or "uso" to "uxo"); listing it keeps that template valid.
 */
export const REFERENCE_LATENTS_METHODS = ['offset', 'index', 'uxo/uno', 'uso'] as const;

export const fluxKontextMultiReferenceLatentMethod = defineNode({
  name: 'FluxKontextMultiReferenceLatentMethod',
  category: 'advanced/conditioning/flux',
  pack: 'comfy_extras.nodes_flux',
  // A comfy_api io.Schema node in ComfyUI 0.3.64, marked is_experimental.
  comfyApi: 'v3',
  experimental: true,
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      reference_latents_method: { type: 'COMBO', options: REFERENCE_LATENTS_METHODS },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    const raw = String(inputs.reference_latents_method);
    const method: ReferenceLatentsMethod = raw.includes('uxo') || raw.includes('uso') ? 'uxo' : raw === 'index' ? 'index' : 'offset';
    return { outputs: [setConditioningValues(expectConditioning(inputs.conditioning, 'conditioning'), { reference_latents_method: method })] };
  },
});
