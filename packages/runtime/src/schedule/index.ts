/** Sigma schedules: Flux model sampling, ComfyUI's schedulers and KSampler step handling, USO's own schedule. */
export * from './flux-sigmas.ts';
export * from './beta-ppf.ts';
export * from './schedulers.ts';
export * from './uso-schedule.ts';
