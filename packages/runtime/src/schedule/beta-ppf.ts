/**
 * The beta distribution's quantile function (inverse of the regularized incomplete beta I_x(a, b)), in double
 * precision, for ComfyUI's `beta` scheduler (scipy.stats.beta.ppf with alpha = beta = 0.6). The scheduler rounds
 * ppf * 9999 to an integer, so ppf must be right to ~1e-12; this reaches ~1e-15.
 */

/** ln Gamma(x) for x > 0: Lanczos approximation (g = 7, 9 terms), relative error ~1e-15. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x < 0.5) {
    // Reflection keeps the series in its accurate range.
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let s = c[0]!;
  for (let i = 1; i < 9; i++) s += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln B(a, b). */
function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** Continued fraction for I_x(a, b) (modified Lentz), valid and fast for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    // Even step.
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b) = P(X <= x) for X ~ Beta(a, b). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`regularizedIncompleteBeta needs a, b > 0, got a=${a}, b=${b}`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  // Use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges fast.
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * Quantile of Beta(a, b): the x in [0, 1] with I_x(a, b) = q. Safeguarded Newton (bisection fallback keeps the
 * bracket), so it converges for the U-shaped a, b < 1 densities too.
 */
export function betaPpf(q: number, a: number, b: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`betaPpf needs q in [0, 1], got ${q}`);
  if (!(a > 0 && b > 0)) throw new RangeError(`betaPpf needs a, b > 0, got a=${a}, b=${b}`);
  if (q === 0) return 0;
  if (q === 1) return 1;
  // Symmetric distributions have their median exactly at 1/2; returning it exactly keeps rint(0.5 * n) ties stable.
  if (a === b && q === 0.5) return 0.5;
  // Work on the smaller tail for accuracy near 1.
  if (q > 0.5) return 1 - betaPpf(1 - q, b, a);

  const lbeta = logBeta(a, b);
  let lo = 0;
  let hi = 1;
  // Start from the small-x asymptote I_x ~ x^a / (a B(a, b)).
  let x = Math.min(0.5, Math.exp((Math.log(q * a) + lbeta) / a));
  if (!(x > 0 && x < 1)) x = 0.5;
  for (let iter = 0; iter < 200; iter++) {
    const f = regularizedIncompleteBeta(x, a, b) - q;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    const density = Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - lbeta);
    let next = x - f / density;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 1e-17 + 2e-16 * Math.abs(x)) return next;
    x = next;
  }
  return x;
}
