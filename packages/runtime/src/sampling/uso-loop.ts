/**
 * USO's reference denoising loop (bytedance/USO sampling.denoise): plain Euler on the velocity,
 * x += (t_next - t_curr) * v(x, t_curr), over usoSchedule's timesteps. No CFG: guidance is a model input.
 */

import type { SamplerOptions, VelocityModel } from './samplers.ts';

/**
 * Runs USO's loop and returns the final latent (in the model's token layout, whatever `velocity` takes).
 *
 * @example
 * const ts = usoSchedule(25, 1024, 1024, 'uso');
 * const latent = await sampleUso(async (x, t) => flux(x, t, guidance), noiseTokens, ts);
 */
export async function sampleUso(
  velocity: VelocityModel,
  x0: Float32Array,
  timesteps: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  if (timesteps.length < 2) {
    throw new RangeError(`sampleUso: need at least 2 timesteps (steps + 1), got ${timesteps.length}; use usoSchedule`);
  }
  let x = x0;
  for (let i = 0; i < timesteps.length - 1; i++) {
    const tCurr = timesteps[i]!;
    const tNext = timesteps[i + 1]!;
    options.signal?.throwIfAborted();
    const v = await velocity(x, tCurr);
    if (v.length !== x.length) throw new RangeError(`sampleUso: velocity returned ${v.length} values for ${x.length}`);
    const dt = Math.fround(tNext - tCurr);
    const next = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) next[k] = x[k]! + Math.fround(dt * v[k]!);
    if (options.callback) {
      // The callback's "denoised" is the x0 estimate x - t v, which previews show.
      const denoised = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) denoised[k] = x[k]! - tCurr * v[k]!;
      await options.callback({ i, total: timesteps.length - 1, sigma: tCurr, sigmaNext: tNext, x, denoised });
    }
    x = next;
  }
  return x;
}
