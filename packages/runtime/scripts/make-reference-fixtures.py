#!/usr/bin/env python3
"""DEV-ONLY: regenerate the reference fixtures that the runtime tests compare against.

Nothing in the runtime or its tests runs Python; this script only records what PyTorch (CPU) gives, so the
TypeScript ports of torch's random stream, ComfyUI's schedulers and its samplers can be checked number for number.
The ComfyUI formulas below are written from the facts in /work/shared/reference/comfyui-sampling.md, not copied.

Needs: torch (any CPU build; Debian's python3-torch 1.13 was used), numpy, mpmath.
Run:   /usr/bin/python3 packages/runtime/scripts/make-reference-fixtures.py
Writes: src/tensor/fixtures/float16.json, src/noise/fixtures/torch-randn.json, src/schedule/fixtures/schedules.json, src/sampling/fixtures/samplers.json
"""
import json
import math
import os

import mpmath
import numpy as np
import torch

from tensor_io import f32_b64

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, '..', 'src')


def write(rel, obj):
    path = os.path.join(SRC, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')
    print('wrote', path, os.path.getsize(path), 'bytes')


# ---------------------------------------------------------------- float16 / bfloat16
def float16_fixtures():
    torch.manual_seed(0)
    # Wide exponent range (subnormal half, normal, overflow) plus values sitting exactly on rounding ties.
    wide = torch.randn(3000) * torch.pow(2.0, torch.randint(-30, 20, (3000,)).float())
    ties_half = (torch.arange(1, 500).float() * 2 + 1) * 2.0 ** -11  # odd multiples of half an ulp of [1, 2)
    ties_sub = (torch.arange(0, 200).float() * 2 + 1) * 2.0 ** -25
    ties_bf16 = 1 + (torch.arange(0, 200).float() * 2 + 1) * 2.0 ** -8
    special = torch.tensor([0.0, -0.0, float('inf'), float('-inf'), 65504.0, 65519.0, 65520.0, 1e-8, -1e-8, 3.4e38])
    x = torch.cat([wide, ties_half, ties_sub, ties_bf16, special]).float()
    write('tensor/fixtures/float16.json', {
        'note': 'float32 values and the bits torch gives for .half() and .bfloat16()',
        'f32': f32_b64(x),
        'f16_bits': x.half().view(torch.int16).numpy().astype(np.uint16).tolist(),
        'bf16_bits': x.bfloat16().view(torch.int16).numpy().astype(np.uint16).tolist(),
    })


# ---------------------------------------------------------------- noise
def noise_fixtures():
    cases = []
    seeds = [0, 1, 42, 3407, 1058487910949722, 2**64 - 1, 2**32, 2**32 + 7, 1810785114]
    shapes = [[1], [2], [5], [15], [16], [17], [31], [33], [3, 7], [1, 16, 8, 8], [1, 16, 5, 3]]
    for seed in seeds:
        for shape in shapes:
            torch.manual_seed(seed)
            cases.append({'seed': str(seed), 'shape': shape, 'f32': f32_b64(torch.randn(shape))})
    # A full latent-sized check of the vectorised path (16384 values).
    torch.manual_seed(3407)
    cases.append({'seed': '3407', 'shape': [1, 16, 32, 32], 'f32': f32_b64(torch.randn([1, 16, 32, 32]))})
    # The 1024x1024 Flux latent: only sampled positions, to keep the file small.
    torch.manual_seed(1058487910949722)
    big = torch.randn([1, 16, 128, 128]).flatten()
    idx = list(range(64)) + list(range(64, big.numel(), 997)) + list(range(big.numel() - 64, big.numel()))
    sampled = {'seed': '1058487910949722', 'shape': [1, 16, 128, 128], 'indices': idx,
               'values': [float(big[i]) for i in idx]}

    # Successive calls on one generator (ComfyUI's default_noise_sampler and prepare_noise with batch_index).
    sequences = []
    for seed, shapes_seq in [
        (3407, [[5], [5], [17], [3], [1, 16, 4, 4], [7]]),
        (7, [[1, 16, 8, 8], [1, 16, 8, 8], [1, 16, 8, 8]]),
        (2**64 - 1, [[1], [1], [1], [16], [1]]),
    ]:
        g = torch.Generator().manual_seed(seed)
        sequences.append({'seed': str(seed), 'shapes': shapes_seq,
                          'f32': [f32_b64(torch.randn(s, generator=g)) for s in shapes_seq]})
    write('noise/fixtures/torch-randn.json', {
        'torch': torch.__version__,
        'note': 'torch.manual_seed(seed); torch.randn(shape) on CPU, float32 little-endian base64',
        'cases': cases, 'sampled': sampled, 'sequences': sequences,
    })


# ---------------------------------------------------------------- schedules (ModelSamplingFlux, shift 1.15)
SHIFT = 1.15


def flux_time_shift(mu, sigma, t):
    return math.exp(mu) / (math.exp(mu) + (1 / t - 1) ** sigma)


def flux_table():
    ts = torch.arange(1, 10000 + 1, 1) / 10000  # f32 tensor
    return flux_time_shift(SHIFT, 1.0, ts)


TABLE = flux_table()


def t_sigma(ts):  # ModelSamplingFlux.sigma(timestep)
    return flux_time_shift(SHIFT, 1.0, ts)


def simple(steps):
    ss = len(TABLE) / steps
    return [float(TABLE[-(1 + int(x * ss))]) for x in range(steps)] + [0.0]


def normal(steps, sgm=False):
    start, end = TABLE[-1], TABLE[0]
    append_zero = True
    if sgm:
        ts = torch.linspace(float(start), float(end), steps + 1)[:-1]
    else:
        if math.isclose(float(t_sigma(end)), 0, abs_tol=0.00001):
            steps += 1
            append_zero = False
        ts = torch.linspace(float(start), float(end), steps)
    sigs = [float(t_sigma(ts[i])) for i in range(len(ts))]
    return sigs + ([0.0] if append_zero else [])


def karras(n, rho=7.0):
    smin, smax = float(TABLE[0]), float(TABLE[-1])
    ramp = torch.linspace(0, 1, n)
    mi, ma = smin ** (1 / rho), smax ** (1 / rho)
    return ((ma + ramp * (mi - ma)) ** rho).tolist() + [0.0]


def exponential(n):
    smin, smax = float(TABLE[0]), float(TABLE[-1])
    return torch.linspace(math.log(smax), math.log(smin), n).exp().tolist() + [0.0]


def ddim_uniform(steps):
    x = 1
    if math.isclose(float(TABLE[x]), 0, abs_tol=0.00001):
        steps += 1
        sigs = []
    else:
        sigs = [0.0]
    ss = max(len(TABLE) // steps, 1)
    while x < len(TABLE):
        sigs.append(float(TABLE[x]))
        x += ss
    return sigs[::-1]


mpmath.mp.dps = 40


def beta_ppf(q, a, b):
    """Quantile of Beta(a, b) by plain bisection at 40 digits (slow but cannot fail)."""
    if q <= 0:
        return 0.0
    if q >= 1:
        return 1.0
    a, b, q = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(q)
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)
    for _ in range(110):
        mid = (lo + hi) / 2
        if mpmath.betainc(a, b, 0, mid, regularized=True) < q:
            lo = mid
        else:
            hi = mid
    return float((lo + hi) / 2)


def beta_indices(steps, a=0.6, b=0.6):
    ts = 1 - np.linspace(0, 1, steps, endpoint=False)
    return [float(np.rint(beta_ppf(float(t), a, b) * (len(TABLE) - 1))) for t in ts]


def beta(steps):
    sigs, last = [], -1
    for t in beta_indices(steps):
        if t != last:
            sigs.append(float(TABLE[int(t)]))
        last = t
    return sigs + [0.0]


def linear_quadratic(steps, threshold_noise=0.025, linear_steps=None):
    if steps == 1:
        sched = [1.0, 0.0]
    else:
        if linear_steps is None:
            linear_steps = steps // 2
        lin = [i * threshold_noise / linear_steps for i in range(linear_steps)]
        diff = linear_steps - threshold_noise * steps
        qsteps = steps - linear_steps
        qc = diff / (linear_steps * qsteps ** 2)
        lc = threshold_noise / linear_steps - 2 * diff / (qsteps ** 2)
        const = qc * (linear_steps ** 2)
        quad = [qc * (i ** 2) + lc * i + const for i in range(linear_steps, steps)]
        sched = [1.0 - x for x in lin + quad + [1.0]]
    return (torch.FloatTensor(sched) * TABLE[-1]).tolist()


def kl_optimal(n):
    smin, smax = float(TABLE[0]), float(TABLE[-1])
    adj = torch.arange(n, dtype=torch.float).div_(n - 1)
    sigmas = adj.new_zeros(n + 1)
    sigmas[:-1] = (adj * math.atan(smin) + (1 - adj) * math.atan(smax)).tan_()
    return sigmas.tolist()


SCHEDULERS = {'simple': simple, 'normal': normal, 'karras': karras, 'exponential': exponential,
              'sgm_uniform': lambda s: normal(s, sgm=True), 'ddim_uniform': ddim_uniform, 'beta': beta,
              'linear_quadratic': linear_quadratic, 'kl_optimal': kl_optimal}
DISCARD_PENULTIMATE = {'dpm_2', 'dpm_2_ancestral', 'uni_pc', 'uni_pc_bh2'}


def f32list(xs):
    return [float(v) for v in torch.tensor(xs, dtype=torch.float32)]


def ksampler_sigmas(scheduler, sampler, steps, denoise):
    def calc(n):
        discard = sampler in DISCARD_PENULTIMATE
        if discard:
            n += 1
        s = torch.FloatTensor(SCHEDULERS[scheduler](n))
        if discard:
            s = torch.cat([s[:-2], s[-1:]])
        return s
    if denoise is None or denoise > 0.9999:
        return calc(steps).tolist()
    if denoise <= 0.0:
        return []
    new_steps = int(steps / denoise)
    return calc(new_steps)[-(steps + 1):].tolist()


def uso_schedule(steps, width, height, mode):
    L = (width / 8) * (height / 8) / 256 if mode == 'uso' else (height // 16) * (width // 16)
    m = (1.15 - 0.5) / (4096 - 256)
    mu = m * L + (0.5 - m * 256)
    ts = torch.linspace(1, 0, steps + 1)
    return flux_time_shift(mu, 1.0, ts).tolist()


def schedule_fixtures():
    out = {'table_f32': f32_b64(TABLE), 'schedulers': [], 'ksampler': [], 'beta_indices': [], 'uso': [],
           'percent_to_sigma': []}
    for name, fn in SCHEDULERS.items():
        for steps in [1, 2, 3, 4, 7, 20, 25, 50]:
            if name == 'kl_optimal' and steps == 1:
                continue  # 0/0 in ComfyUI: NaN sigmas
            out['schedulers'].append({'scheduler': name, 'steps': steps, 'sigmas': f32list(fn(steps))})
    out['beta_ppf'] = [{'q': q, 'a': a, 'b': b, 'x': beta_ppf(q, a, b)}
                       for a, b in [(0.6, 0.6), (2.0, 5.0), (0.5, 3.0), (4.0, 0.7)]
                       for q in [1e-9, 1e-4, 0.01, 0.05, 0.3, 0.5, 0.77, 0.95, 0.999, 1 - 1e-9]]
    for steps in [1, 2, 3, 4, 5, 7, 10, 20, 25, 30, 50, 100]:
        out['beta_indices'].append({'steps': steps, 'indices': beta_indices(steps)})
    for sched, sampler, steps, denoise in [
        ('simple', 'euler', 20, 1.0), ('simple', 'euler', 20, 0.75), ('simple', 'euler', 20, 0.0),
        ('normal', 'euler', 10, 0.5), ('karras', 'dpmpp_2m', 12, 0.33), ('beta', 'euler', 20, 0.6),
        ('simple', 'dpm_2', 20, 1.0), ('simple', 'uni_pc', 8, 0.5), ('sgm_uniform', 'euler', 7, 0.99995),
    ]:
        out['ksampler'].append({'scheduler': sched, 'sampler': sampler, 'steps': steps, 'denoise': denoise,
                                'sigmas': ksampler_sigmas(sched, sampler, steps, denoise)})
    for steps, w, h, mode in [(25, 1024, 1024, 'uso'), (25, 1024, 1024, 'flux'), (20, 768, 1344, 'uso'),
                              (20, 768, 1344, 'flux'), (1, 512, 512, 'uso'), (4, 512, 512, 'flux')]:
        out['uso'].append({'steps': steps, 'width': w, 'height': h, 'mode': mode,
                           'timesteps': uso_schedule(steps, w, h, mode)})
    for p in [0.0, 0.15, 0.5, 0.95, 1.0]:
        v = 1.0 if p <= 0 else 0.0 if p >= 1 else flux_time_shift(SHIFT, 1.0, 1.0 - p)
        out['percent_to_sigma'].append({'percent': p, 'sigma': v})
    write('schedule/fixtures/schedules.json', out)


# ---------------------------------------------------------------- samplers (CONST / flow, float32 tensors)
def synthetic_velocity(x, sigma):
    """A smooth, x- and sigma-dependent stand-in for a flow model, made of float32 + - * only so that the
    TypeScript side can repeat every rounding: v = x * (0.5 + sigma) / (1 + x * x) - 0.3 * x."""
    return x * (0.5 + sigma) / (1 + x * x) - 0.3 * x


def denoise_fn(x, sigma):
    return x - synthetic_velocity(x, sigma) * sigma  # CONST: D = x - v * sigma


def run_sampler(name, x, sigmas, seed):
    if name == 'euler':
        for i in range(len(sigmas) - 1):
            d_ = denoise_fn(x, sigmas[i])
            d = (x - d_) / sigmas[i]
            x = x + d * (sigmas[i + 1] - sigmas[i])
        return x
    if name == 'euler_ancestral':
        g = torch.Generator().manual_seed(seed)
        for i in range(len(sigmas) - 1):
            den = denoise_fn(x, sigmas[i])
            if sigmas[i + 1] == 0:
                x = den
            else:
                ratio = 1 + (sigmas[i + 1] / sigmas[i] - 1) * 1.0
                sd = sigmas[i + 1] * ratio
                a1, ad = 1 - sigmas[i + 1], 1 - sd
                c = (sigmas[i + 1] ** 2 - sd ** 2 * a1 ** 2 / ad ** 2) ** 0.5
                r = sd / sigmas[i]
                x = r * x + (1 - r) * den
                x = (a1 / ad) * x + torch.randn(x.size(), generator=g) * c
        return x
    if name == 'heun':
        for i in range(len(sigmas) - 1):
            den = denoise_fn(x, sigmas[i])
            d = (x - den) / sigmas[i]
            dt = sigmas[i + 1] - sigmas[i]
            if sigmas[i + 1] == 0:
                x = x + d * dt
            else:
                x2 = x + d * dt
                d2 = (x2 - denoise_fn(x2, sigmas[i + 1])) / sigmas[i + 1]
                x = x + (d + d2) / 2 * dt
        return x
    if name == 'dpmpp_2m':
        old = None
        t_fn = lambda s: s.log().neg()
        s_fn = lambda t: t.neg().exp()
        for i in range(len(sigmas) - 1):
            den = denoise_fn(x, sigmas[i])
            t, tn = t_fn(sigmas[i]), t_fn(sigmas[i + 1])
            h = tn - t
            if old is None or sigmas[i + 1] == 0:
                x = (s_fn(tn) / s_fn(t)) * x - (-h).expm1() * den
            else:
                hl = t - t_fn(sigmas[i - 1])
                r = hl / h
                dd = (1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old
                x = (s_fn(tn) / s_fn(t)) * x - (-h).expm1() * dd
            old = den
        return x
    if name == 'lcm':
        g = torch.Generator().manual_seed(seed)
        for i in range(len(sigmas) - 1):
            x = denoise_fn(x, sigmas[i])
            if sigmas[i + 1] > 0:
                x = sigmas[i + 1] * torch.randn(x.size(), generator=g) + (1 - sigmas[i + 1]) * x
        return x
    raise ValueError(name)


def sampler_start(seed=3407):
    """The start every sampler fixture shares: (seed, shape, seeded noise, latent linspace(-1, 1))."""
    shape = [1, 16, 4, 4]
    torch.manual_seed(seed)
    noise = torch.randn(shape)
    latent = torch.linspace(-1, 1, 256).reshape(shape)
    return seed, shape, noise, latent


def sampler_fixtures():
    seed, shape, noise, latent = sampler_start()
    out = {'seed': seed, 'shape': shape, 'latent': 'linspace(-1, 1, 256) as f32',
           'model': 'v = x * (0.5 + sigma) / (1 + x * x) - 0.3 * x; D = x - v * sigma', 'runs': []}
    for name in ['euler', 'euler_ancestral', 'heun', 'dpmpp_2m', 'lcm']:
        for sched, steps, denoise in [('simple', 6, 1.0), ('karras', 5, 0.6)]:
            sigmas = torch.FloatTensor(ksampler_sigmas(sched, name, steps, denoise))
            x = sigmas[0] * noise + (1 - sigmas[0]) * latent  # CONST noise_scaling
            y = run_sampler(name, x, sigmas, seed)
            y = y / (1 - sigmas[-1])  # inverse_noise_scaling
            out['runs'].append({'sampler': name, 'scheduler': sched, 'steps': steps, 'denoise': denoise,
                                'sigmas': sigmas.tolist(), 'f32': f32_b64(y)})
    write('sampling/fixtures/samplers.json', out)


if __name__ == '__main__':
    float16_fixtures()
    noise_fixtures()
    schedule_fixtures()
    sampler_fixtures()
