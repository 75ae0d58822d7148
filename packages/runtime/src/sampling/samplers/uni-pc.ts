/**
 * UniPC (Zhao et al. 2023, arXiv 2302.04867) as ComfyUI runs it for KSampler's uni_pc (B(h) = h, "bh1") and
 * uni_pc_bh2 (B(h) = e^h - 1): the multistep predictor-corrector of order min(3, steps - 1) with lower orders at the
 * start and the end, data prediction, on the VP view of the sigmas. ComfyUI's wrapper (comfy/extra_samplers/uni_pc.py):
 * - timesteps are the sigmas, except a final 0 becomes 0.001 — written into the caller's sigma tensor, so KSampler
 *   then unscales by 1 - 0.001 instead of 1 (kept here: see `inverseScalingSigma`);
 * - x_vp = x / sqrt(1 + sigma_0^2); the model sees x_vp sqrt(1 + t^2) at sigma t and gives
 *   eps = (x_vp sqrt(1 + t^2) - D) / t, data prediction x0 = (x_vp - std(t) eps) / alpha(t) with
 *   log alpha(t) = 0.5 log(1 / (t^2 + 1)), std = sqrt(1 - alpha^2), lambda = log alpha - log std;
 * - the result is x_vp / alpha(t_last).
 * torch solves the small coefficient systems with LAPACK and contracts the history with a BLAS tensordot; here they
 * are a float64 solve and a float32 running sum, so the result agrees within a few float32 ulps, not bit for bit.
 */

import { checkSigmas, f, type Denoiser, type SamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';

type Variant = 'bh1' | 'bh2';

const logMeanCoeff = (t: number) => f(0.5 * f(Math.log(f(1 / f(f(t * t) + 1)))));
const alphaOf = (t: number) => f(Math.exp(logMeanCoeff(t)));
const stdOf = (t: number) => f(Math.sqrt(f(1 - f(Math.exp(f(2 * logMeanCoeff(t)))))));
const lambdaOf = (t: number) => {
  const c = logMeanCoeff(t);
  return f(c - f(0.5 * f(Math.log(f(1 - f(Math.exp(f(2 * c))))))));
};

/** Solves A y = b (small, dense) by Gaussian elimination with partial pivoting in float64; y rounded to float32. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const k = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= n; j++) m[r]![j]! -= k * m[c]![j]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r]![n]!;
    for (let j = r + 1; j < n; j++) v -= m[r]![j]! * y[j]!;
    y[r] = v / m[r]![r]!;
  }
  return y.map((v) => f(v));
}

class UniPc {
  constructor(
    private readonly denoise: Denoiser,
    private readonly variant: Variant,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Data prediction x0 at VP time t (= sigma). */
  async x0(x: Float32Array, t: number): Promise<Float32Array> {
    this.signal?.throwIfAborted();
    const n = x.length;
    const scale = f(Math.sqrt(f(f(t * t) + 1)));
    const input = new Float32Array(n);
    for (let k = 0; k < n; k++) input[k] = x[k]! * scale;
    const den = await this.denoise(input, t);
    if (den.length !== n) throw new RangeError(`denoiser returned ${den.length} values for a latent of ${n}`);
    const std = stdOf(t);
    const alpha = alphaOf(t);
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = f(x[k]! - f(std * f(f(input[k]! - den[k]!) / t))) / alpha;
    return out;
  }

  /** One multistep B(h) update to time t; returns the new x and, with the corrector, the model value there. */
  async update(
    x: Float32Array,
    models: readonly Float32Array[],
    times: readonly number[],
    t: number,
    order: number,
    useCorrector: boolean,
  ): Promise<{ x: Float32Array; model: Float32Array | null }> {
    const n = x.length;
    const t0 = times[times.length - 1]!;
    const m0 = models[models.length - 1]!;
    const lambda0 = lambdaOf(t0);
    const h = f(lambdaOf(t) - lambda0);
    const alphaT = f(Math.exp(logMeanCoeff(t)));
    // History: D1_i = (m_{-i} - m0) / r_i with r_i = (lambda_{-i} - lambda_0) / h, i < order (at most two; computed
    // in the first pass below).
    const rks: number[] = [];
    for (let i = 1; i < order; i++) rks.push(f(f(lambdaOf(times[times.length - 1 - i]!) - lambda0) / h));
    const history = rks.length;
    rks.push(1);
    const hh = -h;
    const hPhi1 = f(Math.expm1(hh));
    const bH = this.variant === 'bh1' ? hh : f(Math.expm1(hh));
    const R: number[][] = [];
    const b: number[] = [];
    let hPhiK = f(f(hPhi1 / hh) - 1);
    let factorial = 1;
    for (let i = 1; i <= order; i++) {
      R.push(rks.map((r) => (i === 1 ? 1 : i === 2 ? r : f(r * r))));
      b.push(f(f(hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = f(f(hPhiK / hh) - f(1 / factorial));
    }
    const rhosP = history === 0 ? [] : order === 2 ? [0.5] : solve(R.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
    const rhosC = order === 1 ? [0.5] : useCorrector ? solve(R, b) : [];
    const ratio = f(stdOf(t) / stdOf(t0));
    const lead = f(alphaT * hPhi1);
    // x_ = (std_t/std_0) x - alpha_t h phi_1(h) m0; predictor x_t = x_ - alpha_t B(h) Σ rho_p D1 (a float32 running
    // sum stands in for torch's tensordot).
    // A missing second history term contributes an exact 0.
    const aB = f(alphaT * bH);
    const ma = history > 0 ? models[models.length - 2]! : m0;
    const mb = history > 1 ? models[models.length - 3]! : m0;
    const [ra, rb] = [rks[0]!, history > 1 ? rks[1]! : 1];
    const [pa, pb] = [rhosP[0] ?? 0, rhosP[1] ?? 0];
    const d1a = new Float32Array(history > 0 ? n : 0);
    const d1b = new Float32Array(history > 1 ? n : 0);
    const base = new Float32Array(n);
    const xt = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const b0 = f(f(ratio * x[k]!) - f(lead * m0[k]!));
      base[k] = b0;
      if (history === 0) {
        xt[k] = b0;
        continue;
      }
      const da = f(f(ma[k]! - m0[k]!) / ra);
      const db = history > 1 ? f(f(mb[k]! - m0[k]!) / rb) : 0;
      d1a[k] = da;
      if (history > 1) d1b[k] = db;
      xt[k] = b0 - f(aB * f(f(da * pa) + f(db * pb)));
    }
    if (!useCorrector) return { x: xt, model: null };
    // Corrector: x_t = x_ - alpha_t B(h) (Σ rho_c D1 + rho_c[-1] (m_t - m0)).
    const model = await this.x0(xt, t);
    const last = rhosC[rhosC.length - 1]!;
    const [ca, cb] = [rhosC[0] ?? 0, history > 1 ? rhosC[1]! : 0];
    const corrected = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const term = f(last * f(model[k]! - m0[k]!));
      const db = history > 1 ? d1b[k]! : 0;
      const corr = history > 0 ? f(f(f(d1a[k]! * ca) + f(db * cb)) + term) : term;
      corrected[k] = base[k]! - f(aB * corr);
    }
    return { x: corrected, model };
  }
}

/**
 * ComfyUI's multistep UniPC loop: step 0 evaluates the model at t_0; steps 1..order-1 warm up with increasing order;
 * later steps use order min(order, steps + 1 - step); the last step index also takes the final step to t_steps
 * without a corrector. The callback runs once per step index with the newest data prediction.
 */
async function sampleUniPcVariant(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions,
  variant: Variant,
): Promise<Float32Array> {
  checkSigmas(variant === 'bh1' ? 'sampleUniPc' : 'sampleUniPcBh2', x0, sigmas);
  const ts = sigmas.map((s) => f(s));
  if (ts[ts.length - 1] === 0) ts[ts.length - 1] = f(0.001);
  const solver = new UniPc(denoise, variant, options.signal);
  const steps = ts.length - 1;
  const order = Math.min(3, ts.length - 2);
  const toVp = f(Math.sqrt(f(1 + f(ts[0]! * ts[0]!))));
  let x: Float32Array = new Float32Array(x0.length);
  for (let k = 0; k < x.length; k++) x[k] = x0[k]! / toVp;
  let models: Float32Array[] = [];
  let times: number[] = [];
  for (let stepIndex = 0; stepIndex < steps; stepIndex++) {
    if (stepIndex === 0) {
      models = [await solver.x0(x, ts[0]!)];
      times = [ts[0]!];
    } else if (stepIndex < order) {
      const r = await solver.update(x, models, times, ts[stepIndex]!, stepIndex, true);
      x = r.x;
      models.push(r.model ?? (await solver.x0(x, ts[stepIndex]!)));
      times.push(ts[stepIndex]!);
    } else {
      const lastStep = stepIndex === steps - 1 ? steps : stepIndex;
      for (let step = stepIndex; step <= lastStep; step++) {
        const t = ts[step]!;
        const r = await solver.update(x, models, times, t, Math.min(order, steps + 1 - step), step !== steps);
        x = r.x;
        times = [...times.slice(1), t];
        const newest = step < steps ? (r.model ?? (await solver.x0(x, t))) : models[models.length - 1]!;
        models = [...models.slice(1), newest];
      }
    }
    if (options.callback) {
      await options.callback({
        i: stepIndex,
        total: steps,
        sigma: sigmas[stepIndex]!,
        sigmaNext: sigmas[stepIndex + 1]!,
        x,
        denoised: models[models.length - 1]!,
      });
    }
  }
  const alphaLast = alphaOf(ts[ts.length - 1]!);
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = x[k]! / alphaLast;
  return out;
}

/** uni_pc (B(h) = h). */
export function sampleUniPc(denoise: Denoiser, x0: Float32Array, sigmas: readonly number[], options: SamplerOptions = {}) {
  return sampleUniPcVariant(denoise, x0, sigmas, options, 'bh1');
}

/** uni_pc_bh2 (B(h) = e^h - 1). */
export function sampleUniPcBh2(denoise: Denoiser, x0: Float32Array, sigmas: readonly number[], options: SamplerOptions = {}) {
  return sampleUniPcVariant(denoise, x0, sigmas, options, 'bh2');
}

/** ComfyUI's uni_pc leaves 0.001 in the schedule's last slot, and KSampler unscales by that. */
const uniPcLastSigma = (sigmas: readonly number[]) => {
  const last = sigmas[sigmas.length - 1]!;
  return last === 0 ? f(0.001) : last;
};

export const UNI_PC_SAMPLERS: SamplerFamily = {
  uni_pc: { kind: 'plain', sample: sampleUniPc, inverseScalingSigma: uniPcLastSigma },
  uni_pc_bh2: { kind: 'plain', sample: sampleUniPcBh2, inverseScalingSigma: uniPcLastSigma },
};
