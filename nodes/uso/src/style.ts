/**
 * USO's style nodes as ComfyUI has them (comfy_extras/nodes_model_patch.py): ModelPatchLoader loads the USO
 * projector, USOStyleReference projects a CLIP_VISION_OUTPUT's selected SigLIP layers into style tokens and returns
 * a MODEL that puts them before the text tokens. The tokens are computed once here, not once per sampling step
 * (ComfyUI recomputes them per call; the values are the same).
 */

import { defineNode } from '@uso-studio/core';
import { Tensor } from '@uso-studio/runtime';
import {
  expectDescriptor,
  getModelService,
  listModelFiles,
  modelRootsOf,
  modelPatchDescriptor,
  withModel,
  type ClipVisionOutput,
  type ModelDescriptor,
  type ModelPatchDescriptor,
} from '@uso-studio/nodes-comfy';

export const modelPatchLoader = defineNode({
  name: 'ModelPatchLoader',
  category: 'advanced/loaders',
  pack: 'comfy_extras.nodes_model_patch',
  experimental: true,
  inputs: {
    required: {
      name: { type: 'COMBO', options: (env) => listModelFiles(modelRootsOf(env), 'model_patches'), modelFolder: 'model_patches' },
    },
  },
  outputs: [{ type: 'MODEL_PATCH' }],
  async execute(inputs, context) {
    const service = getModelService(context.env);
    const name = String(inputs.name);
    const file = service.resolveFile('model_patches', name);
    // Only the USO projector is supported; its graph build checks the file (feature_embedder.* keys).
    await service.graph({ file, role: 'projector' });
    return { outputs: [modelPatchDescriptor(file, name)] };
  },
});

/** Projects selected vision hidden states [B, K, T, width] into style tokens [1, B*S, hidden] (images side by side). */
export async function projectStyle(
  context: { env: Parameters<typeof getModelService>[0] },
  patch: ModelPatchDescriptor,
  vision: ClipVisionOutput,
): Promise<Tensor<'float32'>> {
  const out = await getModelService(context.env).run({ file: patch.file, role: 'projector' }, { hidden_states: vision.hidden_states }, ['style_tokens']);
  const tokens = out.style_tokens as Tensor<'float32'>; // [B, S, hidden]
  const [b, s, hidden] = tokens.shape as [number, number, number];
  return Tensor.float32([1, b * s, hidden], tokens.data);
}

export const usoStyleReference = defineNode({
  name: 'USOStyleReference',
  category: 'advanced/model_patches/flux',
  pack: 'comfy_extras.nodes_model_patch',
  experimental: true,
  inputs: {
    required: {
      model: { type: 'MODEL' },
      model_patch: { type: 'MODEL_PATCH' },
      clip_vision_output: { type: 'CLIP_VISION_OUTPUT' },
    },
  },
  outputs: [{ type: 'MODEL' }],
  async execute(inputs, context) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    const patch = expectDescriptor<'MODEL_PATCH', ModelPatchDescriptor>(inputs.model_patch, 'MODEL_PATCH', 'model_patch');
    const vision = inputs.clip_vision_output as ClipVisionOutput | undefined;
    if (!(vision?.hidden_states instanceof Tensor)) throw new TypeError("input 'clip_vision_output' must be a CLIP_VISION_OUTPUT from CLIPVisionEncode");
    const tokens = await projectStyle(context, patch, vision);
    // Each node prepends its tokens: the last applied style comes first in the sequence.
    return { outputs: [withModel(model, { styles: [tokens, ...model.styles] })] };
  },
});
