import type { NodePack } from '@uso-studio/core';
import { modelPatchLoader, usoStyleReference } from './style.ts';
import { usoSampler } from './uso-sampler.ts';

/** USO's own nodes: the projector loader, the style reference and USO's reference sampler. */
export const pack: NodePack = {
  name: 'uso',
  nodes: [modelPatchLoader, usoStyleReference, usoSampler],
};

export { modelPatchLoader, usoStyleReference, projectStyle } from './style.ts';
export { usoSampler, runUsoSampler, USO_PLACEMENTS, USO_SCHEDULES, type UsoSamplerInputs } from './uso-sampler.ts';
