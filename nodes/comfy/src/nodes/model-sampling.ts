/** ModelSamplingFlux (ComfyUI's comfy_extras/nodes_model_advanced.py): the MODEL's sigma shift from the image size. */

import { defineNode } from '@uso-studio/core';
import { expectDescriptor, withModel, type ModelDescriptor } from '../models/descriptors.ts';
import { MAX_RESOLUTION } from './latent.ts';

/**
 * ComfyUI's shift: linear in the packed token count (width * height / 256) through (256 tokens, base_shift) and
 * (4096 tokens, max_shift), in double precision.
 */
export function fluxShift(maxShift: number, baseShift: number, width: number, height: number): number {
  const x1 = 256;
  const x2 = 4096;
  const slope = (maxShift - baseShift) / (x2 - x1);
  const intercept = baseShift - slope * x1;
  return ((width * height) / (8 * 8 * 2 * 2)) * slope + intercept;
}

export const modelSamplingFluxNode = defineNode({
  name: 'ModelSamplingFlux',
  category: 'advanced/model',
  pack: 'comfy_extras.nodes_model_advanced',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      max_shift: { type: 'FLOAT', default: 1.15, min: 0.0, max: 100.0, step: 0.01 },
      base_shift: { type: 'FLOAT', default: 0.5, min: 0.0, max: 100.0, step: 0.01 },
      width: { type: 'INT', default: 1024, min: 16, max: MAX_RESOLUTION, step: 8 },
      height: { type: 'INT', default: 1024, min: 16, max: MAX_RESOLUTION, step: 8 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  execute(inputs) {
    const model = expectDescriptor<'MODEL', ModelDescriptor>(inputs.model, 'MODEL', 'model');
    const shift = fluxShift(Number(inputs.max_shift), Number(inputs.base_shift), Number(inputs.width), Number(inputs.height));
    return { outputs: [withModel(model, { shift })] };
  },
});
