/** ComfyUI's sampler names, the registry's key space. */

import type { SamplerImplementation } from './common.ts';

/**
 * ComfyUI's SAMPLER_NAMES (comfy/samplers.py at v0.3.64: KSAMPLER_NAMES + ddim, uni_pc, uni_pc_bh2), in its order:
 * the order of KSampler's sampler_name COMBO.
 */
export const SAMPLER_NAMES = [
  'euler',
  'euler_cfg_pp',
  'euler_ancestral',
  'euler_ancestral_cfg_pp',
  'heun',
  'heunpp2',
  'dpm_2',
  'dpm_2_ancestral',
  'lms',
  'dpm_fast',
  'dpm_adaptive',
  'dpmpp_2s_ancestral',
  'dpmpp_2s_ancestral_cfg_pp',
  'dpmpp_sde',
  'dpmpp_sde_gpu',
  'dpmpp_2m',
  'dpmpp_2m_cfg_pp',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_gpu',
  'dpmpp_2m_sde_heun',
  'dpmpp_2m_sde_heun_gpu',
  'dpmpp_3m_sde',
  'dpmpp_3m_sde_gpu',
  'ddpm',
  'lcm',
  'ipndm',
  'ipndm_v',
  'deis',
  'res_multistep',
  'res_multistep_cfg_pp',
  'res_multistep_ancestral',
  'res_multistep_ancestral_cfg_pp',
  'gradient_estimation',
  'gradient_estimation_cfg_pp',
  'er_sde',
  'seeds_2',
  'seeds_3',
  'sa_solver',
  'sa_solver_pece',
  'ddim',
  'uni_pc',
  'uni_pc_bh2',
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** What a family file contributes to the registry. */
export type SamplerFamily = Partial<Record<SamplerName, SamplerImplementation>>;
