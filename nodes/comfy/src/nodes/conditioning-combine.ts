/**
 * ConditioningCombine and ConditioningSetTimestepRange (ComfyUI's nodes.py). Both only shape the CONDITIONING list;
 * the samplers evaluate each entry where its range is active and average the active ones by strength
 * (flux/cond-batch.ts, ComfyUI's calc_cond_batch).
 */

import { defineNode } from '@uso-studio/core';
import { expectConditioning, setConditioningValues } from '../flux/conditioning.ts';

export const conditioningCombine = defineNode({
  name: 'ConditioningCombine',
  displayName: 'Conditioning (Combine)',
  category: 'conditioning',
  pack: 'nodes',
  inputs: {
    required: {
      conditioning_1: { type: 'CONDITIONING' },
      conditioning_2: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    const first = expectConditioning(inputs.conditioning_1, 'conditioning_1');
    const second = expectConditioning(inputs.conditioning_2, 'conditioning_2');
    return { outputs: [[...first, ...second]] };
  },
});

export const conditioningSetTimestepRange = defineNode({
  name: 'ConditioningSetTimestepRange',
  category: 'advanced/conditioning',
  pack: 'nodes',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      start: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  execute(inputs) {
    const conditioning = expectConditioning(inputs.conditioning, 'conditioning');
    return { outputs: [setConditioningValues(conditioning, { start_percent: Number(inputs.start), end_percent: Number(inputs.end) })] };
  },
});
