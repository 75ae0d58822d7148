/**
 * The sampler registry: ComfyUI's KSampler sampler names in ComfyUI's order, and the implementations this runtime
 * has. The samplers themselves live one family per file under ./samplers/.
 */

import type { SamplerImplementation } from './samplers/common.ts';
import { SAMPLER_NAMES, type SamplerName } from './samplers/names.ts';
import { EULER_SAMPLERS } from './samplers/euler.ts';
import { HEUN_SAMPLERS } from './samplers/heun.ts';
import { DPMPP_SAMPLERS } from './samplers/dpmpp.ts';
import { LCM_SAMPLERS } from './samplers/lcm.ts';
import { DPMPP_SDE_SAMPLERS } from './samplers/dpmpp-sde.ts';
import { ER_SDE_SAMPLERS } from './samplers/er-sde.ts';
import { SEEDS_SAMPLERS } from './samplers/seeds.ts';
import { SA_SOLVER_SAMPLERS } from './samplers/sa-solver.ts';
import { LINEAR_MULTISTEP_SAMPLERS } from './samplers/linear-multistep.ts';
import { DDPM_SAMPLERS } from './samplers/ddpm.ts';
import { GRADIENT_ESTIMATION_SAMPLERS } from './samplers/gradient-estimation.ts';
import { RES_MULTISTEP_SAMPLERS } from './samplers/res-multistep.ts';
import { DPM_SOLVER_SAMPLERS } from './samplers/dpm-solver.ts';
import { DEIS_SAMPLERS } from './samplers/deis.ts';
import { UNI_PC_SAMPLERS } from './samplers/uni-pc.ts';

export * from './samplers/common.ts';
export * from './samplers/names.ts';
export * from './samplers/euler.ts';
export * from './samplers/heun.ts';
export * from './samplers/dpmpp.ts';
export * from './samplers/lcm.ts';
export * from './samplers/sde-common.ts';
export * from './samplers/dpmpp-sde.ts';
export * from './samplers/er-sde.ts';
export * from './samplers/seeds.ts';
export * from './samplers/sa-solver.ts';
export * from './samplers/linear-multistep.ts';
export * from './samplers/ddpm.ts';
export * from './samplers/gradient-estimation.ts';
export * from './samplers/res-multistep.ts';
export * from './samplers/dpm-solver.ts';
export * from './samplers/deis.ts';
export * from './samplers/uni-pc.ts';

/** The implemented samplers by ComfyUI name; each family file contributes its own record. */
export const SAMPLERS: Partial<Record<SamplerName, SamplerImplementation>> = {
  ...EULER_SAMPLERS,
  ...HEUN_SAMPLERS,
  ...DPMPP_SAMPLERS,
  ...LCM_SAMPLERS,
  ...DPMPP_SDE_SAMPLERS,
  ...ER_SDE_SAMPLERS,
  ...SEEDS_SAMPLERS,
  ...SA_SOLVER_SAMPLERS,
  ...LINEAR_MULTISTEP_SAMPLERS,
  ...DDPM_SAMPLERS,
  ...GRADIENT_ESTIMATION_SAMPLERS,
  ...RES_MULTISTEP_SAMPLERS,
  ...DPM_SOLVER_SAMPLERS,
  ...DEIS_SAMPLERS,
  ...UNI_PC_SAMPLERS,
};

/** The implemented names in ComfyUI's order (what KSampler offers). */
export function implementedSamplerNames(): SamplerName[] {
  return SAMPLER_NAMES.filter((name) => SAMPLERS[name] !== undefined);
}

/** Looks a sampler up by its ComfyUI name, with a message listing the supported ones. */
export function getSampler(name: string): SamplerImplementation {
  const found = Object.hasOwn(SAMPLERS, name) ? SAMPLERS[name as SamplerName] : undefined;
  if (!found) {
    const known = (SAMPLER_NAMES as readonly string[]).includes(name) ? ' (a ComfyUI sampler not implemented here yet)' : '';
    throw new RangeError(`unknown sampler ${JSON.stringify(name)}${known}; supported: ${implementedSamplerNames().join(', ')}`);
  }
  return found;
}
