/**
 * DEIS (Zhang and Chen 2022) in ComfyUI's 'tab' mode, max order 3: a linear multistep method in sigma whose weights
 * integrate the exponential integrator's kernel against the Lagrange basis of the previous points, numerically.
 *
 * ComfyUI maps the sigmas to VP time with EDM's constants whatever the model (sigma_min 0.002, sigma_max 80,
 * epsilon_s 1e-3): t(sigma) = (sqrt(beta_min^2 + 2 beta_d log(sigma^2 + 1)) - beta_min) / beta_d, and integrates
 * -0.5 (d log alpha / dtau) / sqrt(alpha (1 - alpha)) times each basis polynomial over 10,000 points of [t_i, t_{i+1}]
 * (a left Riemann sum on torch.linspace points times (t_{i+1} - t_i)/10,000). ComfyUI sums in float32 in torch's
 * order; this sums in float64, so the weights agree to about 1e-6 relative, not bit for bit.
 */

import { linspaceF32 } from '../../schedule/schedulers.ts';
import { checkSigmas, evaluate, f, plain, report, type Denoiser, type SamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';

/** numpy's float32 log(float32(0.002)^2 + 1), which ComfyUI's edm2t uses (one ulp below the correctly rounded value). */
const LOG_SIGMA_MIN_TERM = Math.fround(4.053107204526896e-6);
const EPSILON_S = Math.fround(1e-3);

/** ComfyUI's (beta_min, beta_d) for the EDM constants, in float32. */
function vpConstants(): { betaMin: number; betaD: number } {
  const logMax = f(Math.log(f(f(80 * 80) + 1)));
  const betaD = f(f(2 * f(f(LOG_SIGMA_MIN_TERM / EPSILON_S) - logMax)) / f(1e-3 - 1));
  const betaMin = f(logMax - f(0.5 * betaD));
  return { betaMin, betaD };
}

/** The DEIS weights per step: [] for first-order steps, else [current, previous, ...] (float32). */
export function deisCoefficients(sigmas: readonly number[], maxOrder = 3, points = 10000): number[][] {
  const { betaMin, betaD } = vpConstants();
  const b0 = betaMin;
  const slope = f(f(betaD + betaMin) - b0); // beta_1 - beta_0
  const ts = sigmas.map((s) => {
    const s1 = f(f(f(s) * f(s)) + 1);
    return f(f(f(Math.sqrt(f(f(b0 * b0) + f(f(2 * betaD) * f(Math.log(s1)))))) - b0) / betaD);
  });
  const out: number[][] = [];
  for (let i = 0; i < ts.length - 1; i++) {
    const order = Math.min(i + 1, maxOrder);
    if (order === 1) {
      out.push([]);
      continue;
    }
    const taus = linspaceF32(ts[i]!, ts[i + 1]!, points);
    const dtau = f(f(ts[i + 1]! - ts[i]!) / points);
    const prev = Array.from({ length: order }, (_, k) => ts[i - k]!);
    const integrand = new Float64Array(points);
    for (let p = 0; p < points; p++) {
      const tau = taus[p]!;
      const alpha = Math.exp(-0.5 * tau * tau * slope - tau * b0);
      integrand[p] = (-0.5 * (-tau * slope - b0)) / Math.sqrt(alpha * (1 - alpha));
    }
    const sums = prev.map((pj, j) => {
      const others = prev.filter((_, k) => k !== j);
      const denominator = others.reduce((acc, pk) => acc * f(pj - pk), 1);
      let sum = 0;
      for (let p = 0; p < points; p++) {
        let poly = integrand[p]!;
        for (const pk of others) poly *= taus[p]! - pk;
        sum += poly;
      }
      return sum / denominator;
    });
    out.push(sums.map((v) => f(f(v) * dtau)));
  }
  return out;
}

/**
 * DEIS: d = (x - D)/s; first step and the last (to 0) Euler; otherwise x + c_0 d + c_1 d_{-1} (+ c_2 d_{-2}).
 */
export async function sampleDeis(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDeis', x0, sigmas);
  const maxOrder = 3;
  const coefficients = deisCoefficients(sigmas, maxOrder);
  const n = x0.length;
  const history: Float32Array[] = [];
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) d[k] = f(x[k]! - den[k]!) / s;
    const order = sn <= 0 ? 1 : Math.min(maxOrder, i + 1);
    const next = new Float32Array(n);
    if (order === 1) {
      const dt = f(sn - s);
      for (let k = 0; k < n; k++) next[k] = x[k]! + f(dt * d[k]!);
    } else {
      const c = coefficients[i]!;
      for (let k = 0; k < n; k++) {
        let acc = f(x[k]! + f(c[0]! * d[k]!));
        for (let j = 1; j < order; j++) acc = f(acc + f(c[j]! * history[history.length - j]![k]!));
        next[k] = acc;
      }
    }
    history.push(d);
    if (history.length > maxOrder - 1) history.shift();
    x = next;
  }
  return x;
}

export const DEIS_SAMPLERS: SamplerFamily = {
  deis: plain(sampleDeis),
};
