/** Sampling: latent bookkeeping, k-diffusion samplers for flow models, ComfyUI's KSampler path, USO's loop, EasyCache. */
export * from './latent.ts';
export * from './samplers.ts';
export * from './ksampler.ts';
export * from './uso-loop.ts';
export * from './easy-cache.ts';
