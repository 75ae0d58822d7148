#!/usr/bin/env python3
"""DEV-ONLY: reference runs of ComfyUI's KSampler samplers that need no Brownian tree, for the runtime's tests.

Each sampler below is an independent PyTorch (CPU, float32 tensors) implementation written from the published
algorithms as ComfyUI v0.3.64 states them (comfy/k_diffusion/sampling.py, comfy/k_diffusion/deis.py,
comfy/extra_samplers/uni_pc.py, comfy/samplers.py: formulas, coefficients, defaults, noise sources, CONST
variants), in ComfyUI's order of float32 operations so the TypeScript ports can be compared number for number.
Nothing here is imported from ComfyUI.

The model is synthetic and made of float32 + - * / only: two flow "velocities" (positive and negative
conditioning), each turned into a CONST denoiser D = x - v * sigma, combined by ComfyUI's CFG
(uncond + (cond - uncond) * cfg; at cfg 1 the negative is skipped unless a CFG++ sampler asks for it).

Needs: torch (Debian's python3-torch 1.13 was used), numpy, scipy (Debian's python3-scipy) (lms integrates like k-diffusion), mpmath.
Run:   /usr/bin/python3 packages/runtime/scripts/make-ode-sampler-fixtures.py   (a few seconds)
Writes: src/sampling/fixtures/ode-samplers.json
"""
import importlib.util
import math
import os

import numpy as np
import torch
from scipy import integrate

from tensor_io import f32_b64

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('reference', os.path.join(HERE, 'make-reference-fixtures.py'))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)  # schedules (ksampler_sigmas), sampler_start, write


# ---------------------------------------------------------------- the synthetic model and CFG
def v_pos(x, s):
    return x * (0.5 + s) / (1 + x * x) - 0.3 * x


def v_neg(x, s):
    return x * (0.2 + s) / (2 + x * x) + 0.1 * x


class Model:
    """ComfyUI's sampling_function + cfg_function over two CONST denoisers; records the unconditional prediction
    like the post-CFG hook of the CFG++ samplers. Counts calls."""

    def __init__(self, cfg, need_uncond):
        self.cfg, self.need_uncond, self.uncond, self.calls = cfg, need_uncond, None, 0

    def __call__(self, x, s):
        self.calls += 1
        s = torch.as_tensor(s, dtype=torch.float32)  # ComfyUI hands the model sigma as a float32 tensor
        cond = x - v_pos(x, s) * s
        if math.isclose(self.cfg, 1.0) and not self.need_uncond:
            return cond
        uncond = x - v_neg(x, s) * s
        self.uncond = uncond
        return uncond + (cond - uncond) * self.cfg


def to_d(x, s, d):
    return (x - d) / s


def ancestral_step(s_from, s_to, eta=1.0):
    if not eta:
        return s_to, 0.0
    up = min(s_to, eta * (s_to ** 2 * (s_from ** 2 - s_to ** 2) / s_from ** 2) ** 0.5)
    down = (s_to ** 2 - up ** 2) ** 0.5
    return down, up


def rf_ancestral(s, sn, eta=1.0):
    """CONST (rectified flow) ancestral step: sigma_down, alpha_{i+1}, alpha_down, renoise coefficient."""
    ratio = 1 + (sn / s - 1) * eta
    down = sn * ratio
    a1, ad = 1 - sn, 1 - down
    return down, a1, ad, (sn ** 2 - down ** 2 * a1 ** 2 / ad ** 2) ** 0.5


def half_log_snr(s):  # CONST: -logit(sigma)
    return s.logit().neg()


t_fn = lambda s: s.log().neg()
sigma_fn = lambda t: t.neg().exp()


# ---------------------------------------------------------------- samplers
def euler(m, x, sig, g):
    for i in range(len(sig) - 1):
        d = to_d(x, sig[i], m(x, sig[i]))
        x = x + d * (sig[i + 1] - sig[i])
    return x


def euler_ancestral_cfg_pp(m, x, sig, g, eta=1.0, s_noise=1.0):
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        if sig[i + 1] == 0:
            x = den
            continue
        a_s = sig[i] * half_log_snr(sig[i]).exp()
        a_t = sig[i + 1] * half_log_snr(sig[i + 1]).exp()
        d = to_d(x, sig[i], a_s * m.uncond)
        down, up = ancestral_step(sig[i] / a_s, sig[i + 1] / a_t, eta)
        down = a_t * down
        x = a_t * den + down * d
        if eta > 0 and s_noise > 0:
            x = x + a_t * torch.randn(x.size(), generator=g) * s_noise * up
    return x


def heunpp2(m, x, sig, g):
    s_end = sig[-1]
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        d = to_d(x, sig[i], den)
        dt = sig[i + 1] - sig[i]
        if sig[i + 1] == s_end:
            x = x + d * dt
        elif sig[i + 2] == s_end:
            x2 = x + d * dt
            d2 = to_d(x2, sig[i + 1], m(x2, sig[i + 1]))
            w2 = sig[i + 1] / (2 * sig[0])
            x = x + (d * (1 - w2) + d2 * w2) * dt
        else:
            x2 = x + d * dt
            d2 = to_d(x2, sig[i + 1], m(x2, sig[i + 1]))
            x3 = x2 + d2 * (sig[i + 2] - sig[i + 1])
            d3 = to_d(x3, sig[i + 2], m(x3, sig[i + 2]))
            w = 3 * sig[0]
            w2, w3 = sig[i + 1] / w, sig[i + 2] / w
            w1 = 1 - w2 - w3
            x = x + (w1 * d + w2 * d2 + w3 * d3) * dt
    return x


def dpm_2(m, x, sig, g):
    for i in range(len(sig) - 1):
        d = to_d(x, sig[i], m(x, sig[i]))
        if sig[i + 1] == 0:
            x = x + d * (sig[i + 1] - sig[i])
        else:
            mid = sig[i].log().lerp(sig[i + 1].log(), 0.5).exp()
            x2 = x + d * (mid - sig[i])
            d2 = to_d(x2, mid, m(x2, mid))
            x = x + d2 * (sig[i + 1] - sig[i])
    return x


def dpm_2_ancestral(m, x, sig, g, eta=1.0):  # CONST form
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        down, a1, ad, c = rf_ancestral(sig[i], sig[i + 1], eta)
        d = to_d(x, sig[i], den)
        if down == 0:
            x = x + d * (down - sig[i])
        else:
            mid = sig[i].log().lerp(down.log(), 0.5).exp()
            x2 = x + d * (mid - sig[i])
            d2 = to_d(x2, mid, m(x2, mid))
            x = x + d2 * (down - sig[i])
            x = (a1 / ad) * x + torch.randn(x.size(), generator=g) * 1.0 * c
    return x


def lms(m, x, sig, g, order=4):
    t = sig.numpy()  # float32, as k-diffusion's sigmas_cpu

    def coeff(o, i, j):
        def fn(tau):
            prod = 1.0
            for k in range(o):
                if j != k:
                    prod *= (tau - t[i - k]) / (t[i - j] - t[i - k])
            return prod
        return integrate.quad(fn, t[i], t[i + 1], epsrel=1e-4)[0]

    ds = []
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        ds.append(to_d(x, sig[i], den))
        if len(ds) > order:
            ds.pop(0)
        if sig[i + 1] == 0:
            x = den
        else:
            o = min(i + 1, order)
            cs = [coeff(o, i, j) for j in range(o)]
            x = x + sum(c * d for c, d in zip(cs, reversed(ds)))
    return x


class DPMSolverRef:
    def __init__(self, m):
        self.m = m

    def eps(self, cache, key, x, t):
        if key not in cache:
            cache[key] = (x - self.m(x, sigma_fn(t))) / sigma_fn(t)
        return cache[key]

    def step1(self, x, t, tn, cache):
        h = tn - t
        return x - sigma_fn(tn) * h.expm1() * self.eps(cache, 'eps', x, t)

    def step2(self, x, t, tn, cache, r1=1 / 2):
        h = tn - t
        e = self.eps(cache, 'eps', x, t)
        s1 = t + r1 * h
        u1 = x - sigma_fn(s1) * (r1 * h).expm1() * e
        e1 = self.eps(cache, 'eps_r1', u1, s1)
        return x - sigma_fn(tn) * h.expm1() * e - sigma_fn(tn) / (2 * r1) * h.expm1() * (e1 - e)

    def step3(self, x, t, tn, cache, r1=1 / 3, r2=2 / 3):
        h = tn - t
        e = self.eps(cache, 'eps', x, t)
        s1, s2 = t + r1 * h, t + r2 * h
        u1 = x - sigma_fn(s1) * (r1 * h).expm1() * e
        e1 = self.eps(cache, 'eps_r1', u1, s1)
        u2 = x - sigma_fn(s2) * (r2 * h).expm1() * e - sigma_fn(s2) * (r2 / r1) * ((r2 * h).expm1() / (r2 * h) - 1) * (e1 - e)
        e2 = self.eps(cache, 'eps_r2', u2, s2)
        return x - sigma_fn(tn) * h.expm1() * e - sigma_fn(tn) / r2 * (h.expm1() / h - 1) * (e2 - e)


def sigma_range(sig):
    smin = sig[-1] if sig[-1] != 0 else sig[-2]
    return smin, sig[0]


def dpm_fast(m, x, sig, g):
    if len(sig) <= 1:
        return x
    smin, smax = sigma_range(sig)
    n = len(sig) - 1
    t_start, t_end = t_fn(torch.tensor(float(smax))), t_fn(torch.tensor(float(smin)))
    mm = math.floor(n / 3) + 1
    ts = torch.linspace(t_start, t_end, mm + 1)
    orders = [3] * (mm - 2) + [2, 1] if n % 3 == 0 else [3] * (mm - 1) + [n % 3]
    s = DPMSolverRef(m)
    for i in range(len(orders)):
        cache = {}
        t, tn = ts[i], ts[i + 1]
        s.eps(cache, 'eps', x, t)
        x = [None, s.step1, s.step2, s.step3][orders[i]](x, t, tn, cache)
        torch.randn(x.size(), generator=g)  # drawn and scaled by su = 0 (eta 0): no effect on x
    return x


def dpm_adaptive(m, x, sig, g, info=None):
    if len(sig) <= 1:
        return x
    smin, smax = sigma_range(sig)
    order, rtol, atol, h, accept_safety, eps_ = 3, 0.05, 0.0078, 0.05, 0.81, 1e-8
    t_start, t_end = t_fn(torch.tensor(float(smax))), t_fn(torch.tensor(float(smin)))
    atol_t, rtol_t = torch.tensor(atol), torch.tensor(rtol)
    b1 = 1.0 / order  # PID with pcoeff 0, icoeff 1, dcoeff 0: b2 = -0.0, b3 = 0
    errs = []
    sv = DPMSolverRef(m)
    s = t_start
    x_prev = x
    steps = 0
    while s < t_end - 1e-5:
        cache = {}
        t = torch.minimum(t_end, s + h)
        sv.eps(cache, 'eps', x, s)
        x_low = sv.step2(x, s, t, cache, r1=1 / 3)
        x_high = sv.step3(x, s, t, cache)
        delta = torch.maximum(atol_t, rtol_t * torch.maximum(x_low.abs(), x_prev.abs()))
        error = torch.linalg.norm((x_low - x_high) / delta) / x.numel() ** 0.5
        inv = 1 / (float(error) + eps_)
        if not errs:
            errs = [inv, inv, inv]
        errs[0] = inv
        factor = errs[0] ** b1 * errs[1] ** -0.0 * errs[2] ** 0.0
        factor = 1 + math.atan(factor - 1)
        accept = factor >= accept_safety
        if accept:
            errs[2], errs[1] = errs[1], errs[0]
        h *= factor
        if accept:
            x_prev = x_low
            x = x_high + 0.0 * 1.0 * torch.randn(x.size(), generator=g)
            s = t
        steps += 1
    if info is not None:
        info['steps'] = steps
    return x


def dpmpp_2s_ancestral(m, x, sig, g, eta=1.0):  # CONST form
    lam = lambda s: ((1 - s) / s).log()
    sfn = lambda l: (l.exp() + 1) ** -1
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        down, a1, ad, c = rf_ancestral(sig[i], sig[i + 1], eta)
        if sig[i + 1] == 0:
            x = x + to_d(x, sig[i], den) * (down - sig[i])
        else:
            if sig[i] == 1.0:
                s_s = 0.9999
            else:
                ti, td = lam(sig[i]), lam(down)
                s_s = sfn(ti + 0.5 * (td - ti))
            r = s_s / sig[i]
            u = r * x + (1 - r) * den
            D = m(u, s_s)
            r = down / sig[i]
            x = r * x + (1 - r) * D
        if sig[i + 1] > 0 and eta > 0:
            x = (a1 / ad) * x + torch.randn(x.size(), generator=g) * 1.0 * c
    return x


def dpmpp_2s_ancestral_cfg_pp(m, x, sig, g, eta=1.0):
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        down, up = ancestral_step(sig[i], sig[i + 1], eta)
        if down == 0:
            x = den + to_d(x, sig[i], m.uncond) * down
        else:
            t, tn = t_fn(sig[i]), t_fn(down)
            h = tn - t
            s = t + 0.5 * h
            x2 = (sigma_fn(s) / sigma_fn(t)) * (x + (den - m.uncond)) - (-h * 0.5).expm1() * den
            D2 = m(x2, sigma_fn(s))
            # ComfyUI reads its post-CFG slot again here, after the second call: the uncond of (x2, sigma_s).
            x = (sigma_fn(tn) / sigma_fn(t)) * (x + (den - m.uncond)) - (-h).expm1() * D2
        if sig[i + 1] > 0:
            x = x + torch.randn(x.size(), generator=g) * 1.0 * up
    return x


def dpmpp_2m_cfg_pp(m, x, sig, g):
    old_u = None
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        u = m.uncond
        t, tn = t_fn(sig[i]), t_fn(sig[i + 1])
        h = tn - t
        if old_u is None or sig[i + 1] == 0:
            mix = -torch.exp(-h) * u
        else:
            r = (t - t_fn(sig[i - 1])) / h
            mix = -torch.exp(-h) * u - torch.expm1(-h) * (1 / (2 * r)) * (den - old_u)
        x = den + mix + torch.exp(-h) * x
        old_u = u
    return x


def ddpm(m, x, sig, g):
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        s, sp = sig[i], sig[i + 1]
        xs = x / torch.sqrt(1.0 + s ** 2.0)
        eps = (x - den) / s
        ac = 1 / ((s * s) + 1)
        acp = 1 / ((sp * sp) + 1)
        a = ac / acp
        mu = (1.0 / a).sqrt() * (xs - (1 - a) * eps / (1 - ac).sqrt())
        if sp > 0:
            mu += ((1 - a) * (1.0 - acp) / (1.0 - ac)).sqrt() * torch.randn(x.size(), generator=g)
        x = mu
        if sp != 0:
            x *= torch.sqrt(1.0 + sp ** 2.0)
    return x


def ipndm(m, x, sig, g, max_order=4):
    buf = []
    for i in range(len(sig) - 1):
        tc, tn = sig[i], sig[i + 1]
        den = m(x, tc)
        d = (x - den) / tc
        o = min(max_order, i + 1)
        if tn == 0:
            xn = den
        elif o == 1:
            xn = x + (tn - tc) * d
        elif o == 2:
            xn = x + (tn - tc) * (3 * d - buf[-1]) / 2
        elif o == 3:
            xn = x + (tn - tc) * (23 * d - 16 * buf[-1] + 5 * buf[-2]) / 12
        else:
            xn = x + (tn - tc) * (55 * d - 59 * buf[-1] + 37 * buf[-2] - 9 * buf[-3]) / 24
        buf = (buf + [d])[-(max_order - 1):]
        x = xn
    return x


def ipndm_v(m, x, sig, g, max_order=4):
    buf = []
    for i in range(len(sig) - 1):
        tc, tn = sig[i], sig[i + 1]
        den = m(x, tc)
        d = (x - den) / tc
        o = min(max_order, i + 1)
        if tn == 0:
            xn = den
        elif o == 1:
            xn = x + (tn - tc) * d
        else:
            h0 = tn - tc
            h1 = tc - sig[i - 1]
            if o == 2:
                c1 = (2 + (h0 / h1)) / 2
                c2 = -(h0 / h1) / 2
                xn = x + (tn - tc) * (c1 * d + c2 * buf[-1])
            elif o == 3:
                h2 = sig[i - 1] - sig[i - 2]
                tmp = (1 - h0 / (3 * (h0 + h1)) * (h0 * (h0 + h1)) / (h1 * (h1 + h2))) / 2
                c1 = (2 + (h0 / h1)) / 2 + tmp
                c2 = -(h0 / h1) / 2 - (1 + h1 / h2) * tmp
                c3 = tmp * h1 / h2
                xn = x + (tn - tc) * (c1 * d + c2 * buf[-1] + c3 * buf[-2])
            else:
                h2 = sig[i - 1] - sig[i - 2]
                h3 = sig[i - 2] - sig[i - 3]
                t1 = (1 - h0 / (3 * (h0 + h1)) * (h0 * (h0 + h1)) / (h1 * (h1 + h2))) / 2
                t2 = ((1 - h0 / (3 * (h0 + h1))) / 2 + (1 - h0 / (2 * (h0 + h1))) * h0 / (6 * (h0 + h1 + h2))) \
                    * (h0 * (h0 + h1) * (h0 + h1 + h2)) / (h1 * (h1 + h2) * (h1 + h2 + h3))
                q = h1 * (h1 + h2) / (h2 * (h2 + h3))
                c1 = (2 + (h0 / h1)) / 2 + t1 + t2
                c2 = -(h0 / h1) / 2 - (1 + h1 / h2) * t1 - (1 + (h1 / h2) + q) * t2
                c3 = t1 * h1 / h2 + ((h1 / h2) + q * (1 + h2 / h3)) * t2
                c4 = -t2 * q * h1 / h2
                xn = x + (tn - tc) * (c1 * d + c2 * buf[-1] + c3 * buf[-2] + c4 * buf[-3])
        buf = (buf + [d])[-(max_order - 1):]
        x = xn
    return x


def deis_coefficients(sig, max_order=3, n=10000):
    """DEIS 'tab' mode: EDM sigmas mapped to VP time with k-diffusion's EDM constants, coefficients by a Riemann sum
    of N points of the exponential integrand times the Lagrange basis polynomials."""
    smin, smax, eps_s = torch.tensor(0.002), torch.tensor(80.0), 1e-3
    # np.log on a float32 tensor, as ComfyUI's edm2t does: numpy's float32 log (one ulp off torch's here).
    beta_d = 2 * (np.log(smin ** 2 + 1) / eps_s - np.log(smax ** 2 + 1)) / (eps_s - 1)
    beta_min = np.log(smax ** 2 + 1) - 0.5 * beta_d
    ts = ((beta_min ** 2 + 2 * beta_d * (sig ** 2 + 1).log()).sqrt() - beta_min) / beta_d
    b0, b1 = beta_min, beta_d + beta_min
    out = []
    for i in range(len(ts) - 1):
        o = min(i + 1, max_order)
        if o == 1:
            out.append([])
            continue
        taus = torch.linspace(ts[i], ts[i + 1], n)
        dtau = (ts[i + 1] - ts[i]) / n
        prev = ts[[i - k for k in range(o)]]
        with torch.enable_grad():
            tg = taus.clone().requires_grad_(True)
            alpha = torch.exp(-0.5 * tg ** 2 * (b1 - b0) - tg * b0)
            alpha.log().sum().backward()
        integrand = -0.5 * tg.grad / torch.sqrt(alpha.detach() * (1 - alpha.detach()))
        row = []
        for j in range(o):
            poly = 1
            for k in range(o):
                if k != j:
                    poly = poly * ((taus - prev[k]) / (prev[j] - prev[k]))
            row.append(torch.sum(integrand * poly) * dtau)
        out.append(row)
    return out


def deis(m, x, sig, g, max_order=3):
    cl = deis_coefficients(sig, max_order)
    buf = []
    for i in range(len(sig) - 1):
        tc, tn = sig[i], sig[i + 1]
        den = m(x, tc)
        d = (x - den) / tc
        o = min(max_order, i + 1)
        if tn <= 0:
            o = 1
        if o == 1:
            xn = x + (tn - tc) * d
        else:
            c = cl[i]
            xn = x + c[0] * d
            for k in range(1, o):
                xn = xn + c[k] * buf[-k]
        buf = (buf + [d])[-(max_order - 1):]
        x = xn
    return x


def res_multistep(m, x, sig, g, eta=0.0, cfg_pp=False, s_noise=1.0):
    phi1 = lambda t: torch.expm1(t) / t
    phi2 = lambda t: (phi1(t) - 1.0) / t
    old_down = old_den = None
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        down, up = ancestral_step(sig[i], sig[i + 1], eta)
        if down == 0 or old_den is None:
            if cfg_pp:
                x = den + to_d(x, sig[i], m.uncond) * down
            else:
                x = x + to_d(x, sig[i], den) * (down - sig[i])
        else:
            t, t_old, t_next, t_prev = t_fn(sig[i]), t_fn(old_down), t_fn(down), t_fn(sig[i - 1])
            h = t_next - t
            c2 = (t_prev - t_old) / h
            p1, p2 = phi1(-h), phi2(-h)
            b1 = torch.nan_to_num(p1 - p2 / c2, nan=0.0)
            b2 = torch.nan_to_num(p2 / c2, nan=0.0)
            if cfg_pp:
                x = x + (den - m.uncond)
                x = sigma_fn(h) * x + h * (b1 * m.uncond + b2 * old_den)
            else:
                x = sigma_fn(h) * x + h * (b1 * den + b2 * old_den)
        if sig[i + 1] > 0:
            x = x + torch.randn(x.size(), generator=g) * s_noise * up
        old_den = m.uncond if cfg_pp else den
        old_down = down
    return x


def gradient_estimation(m, x, sig, g, ge_gamma=2.0, cfg_pp=False):
    old_d = None
    for i in range(len(sig) - 1):
        den = m(x, sig[i])
        d = to_d(x, sig[i], m.uncond if cfg_pp else den)
        dt = sig[i + 1] - sig[i]
        if sig[i + 1] == 0:
            x = den
        else:
            x = den + d * sig[i + 1] if cfg_pp else x + d * dt
            if i >= 1:
                x = x + (ge_gamma - 1) * (d - old_d) * dt
        old_d = d
    return x


# UniPC (B(h) variants) over ComfyUI's VP view of the sigmas: x_vp = x / sqrt(1 + sigma^2), data prediction.
def lmc(s):  # marginal_log_mean_coeff
    return 0.5 * torch.log(1 / ((s * s) + 1))


def m_alpha(s):
    return torch.exp(lmc(s))


def m_std(s):
    return torch.sqrt(1. - torch.exp(2. * lmc(s)))


def m_lambda(s):
    c = lmc(s)
    return c - 0.5 * torch.log(1. - torch.exp(2. * c))


def unipc_x0(m, x, t):
    sg = t.view(1)
    inp = x * ((sg ** 2 + 1.0) ** 0.5)
    eps = (inp - m(inp, sg[0])) / sg
    return (x - m_std(t) * eps) / m_alpha(t)


def unipc_update(m, x, models, ts, t, order, variant, use_corrector):
    t0 = ts[-1]
    l0, lt = m_lambda(t0), m_lambda(t)
    m0 = models[-1]
    s0, st = m_std(t0), m_std(t)
    at = torch.exp(lmc(t))
    h = lt - l0
    rks, D1s = [], []
    for i in range(1, order):
        rk = (m_lambda(ts[-(i + 1)]) - l0) / h
        rks.append(rk)
        D1s.append((models[-(i + 1)] - m0) / rk)
    rks.append(torch.tensor(1.))
    rks = torch.stack(rks)
    hh = -h
    h_phi_1 = torch.expm1(hh)
    h_phi_k = h_phi_1 / hh - 1
    fact = 1
    B_h = hh if variant == 'bh1' else torch.expm1(hh)
    R, b = [], []
    for i in range(1, order + 1):
        R.append(torch.pow(rks, i - 1))
        b.append(h_phi_k * fact / B_h)
        fact *= (i + 1)
        h_phi_k = h_phi_k / hh - 1 / fact
    R, b = torch.stack(R), torch.stack(b)
    rhos_p = None
    if D1s:
        rhos_p = torch.tensor([0.5]) if order == 2 else torch.linalg.solve(R[:-1, :-1], b[:-1])
    rhos_c = torch.tensor([0.5]) if order == 1 else torch.linalg.solve(R, b) if use_corrector else None
    x_ = (st / s0) * x - (at * h_phi_1) * m0
    D1s = torch.stack(D1s, dim=1) if D1s else None  # [B, K, C, H, W]
    pred = torch.tensordot(D1s, rhos_p, dims=([1], [0])) if D1s is not None else 0
    xt = x_ - (at * B_h) * pred
    mt = None
    if use_corrector:
        mt = unipc_x0(m, xt, t)
        corr = torch.tensordot(D1s, rhos_c[:-1], dims=([1], [0])) if D1s is not None else 0
        xt = x_ - (at * B_h) * (corr + rhos_c[-1] * (mt - m0))
    return xt, mt


def uni_pc(m, x, sig, g, variant='bh1'):
    ts = sig.clone()
    if sig[-1] == 0:
        ts[-1] = 0.001
    x = x / torch.sqrt(1.0 + ts[0] ** 2.0)
    order = min(3, len(ts) - 2)
    steps = len(ts) - 1
    models, tl = [], []
    for k in range(steps):
        if k == 0:
            models, tl = [unipc_x0(m, x, ts[0])], [ts[0]]
        elif k < order:
            x, mx = unipc_update(m, x, models, tl, ts[k], k, variant, True)
            models.append(mx)
            tl.append(ts[k])
        else:
            for step in range(k, k + 1 + (1 if k == steps - 1 else 0)):
                so = min(order, steps + 1 - step)
                uc = step != steps
                x, mx = unipc_update(m, x, models, tl, ts[step], so, variant, uc)
                # Shift the history left by one; the last model value is only re-evaluated before the end.
                tl = tl[1:] + [ts[step]]
                if step < steps:
                    models = models[1:] + [mx if mx is not None else unipc_x0(m, x, ts[step])]
                else:
                    models = models[1:] + [models[-1]]
    x = x / m_alpha(ts[-1])
    return x, ts[-1]


SAMPLERS = {
    'euler_cfg_pp': (lambda m, x, s, g: euler_ancestral_cfg_pp(m, x, s, g, eta=0.0, s_noise=0.0), True),
    'euler_ancestral_cfg_pp': (euler_ancestral_cfg_pp, True),
    'heunpp2': (heunpp2, False),
    'dpm_2': (dpm_2, False),
    'dpm_2_ancestral': (dpm_2_ancestral, False),
    'lms': (lms, False),
    'dpm_fast': (dpm_fast, False),
    'dpm_adaptive': (dpm_adaptive, False),
    'dpmpp_2s_ancestral': (dpmpp_2s_ancestral, False),
    'dpmpp_2s_ancestral_cfg_pp': (dpmpp_2s_ancestral_cfg_pp, True),
    'dpmpp_2m_cfg_pp': (dpmpp_2m_cfg_pp, True),
    'ddpm': (ddpm, False),
    'ipndm': (ipndm, False),
    'ipndm_v': (ipndm_v, False),
    'deis': (deis, False),
    'res_multistep': (lambda m, x, s, g: res_multistep(m, x, s, g), False),
    'res_multistep_cfg_pp': (lambda m, x, s, g: res_multistep(m, x, s, g, cfg_pp=True), True),
    'res_multistep_ancestral': (lambda m, x, s, g: res_multistep(m, x, s, g, eta=1.0), False),
    'res_multistep_ancestral_cfg_pp': (lambda m, x, s, g: res_multistep(m, x, s, g, eta=1.0, cfg_pp=True), True),
    'gradient_estimation': (gradient_estimation, False),
    'gradient_estimation_cfg_pp': (lambda m, x, s, g: gradient_estimation(m, x, s, g, cfg_pp=True), True),
    'ddim': (euler, False),  # ComfyUI: ksampler("euler") with random inpaint noise, which only masks use
    'uni_pc': (lambda m, x, s, g: uni_pc(m, x, s, g, 'bh1'), False),
    'uni_pc_bh2': (lambda m, x, s, g: uni_pc(m, x, s, g, 'bh2'), False),
}

# (scheduler, steps, denoise, cfg for plain samplers, cfg for CFG++ samplers)
RUNS = [('simple', 6, 1.0, 2.0, 1.0), ('karras', 5, 0.6, 1.0, 1.5), ('beta', 9, 1.0, 3.5, 0.8), ('normal', 20, 1.0, 1.5, 1.0)]


def main():
    seed, shape, noise, latent = ref.sampler_start()
    out = {'seed': seed, 'shape': shape, 'latent': 'linspace(-1, 1, 256) as f32',
           'model': 'CFG over D = x - v * sigma; positive v = x (0.5 + sigma) / (1 + x x) - 0.3 x, '
                    'negative v = x (0.2 + sigma) / (2 + x x) + 0.1 x',
           'made_with': f'torch {torch.__version__} (CPU)', 'runs': []}
    for name, (fn, guided) in SAMPLERS.items():
        for sched, steps, denoise, cfg_plain, cfg_pp in RUNS:
            cfg = cfg_pp if guided else cfg_plain
            sigmas = torch.FloatTensor(ref.ksampler_sigmas(sched, name, steps, denoise))
            m = Model(cfg, guided)
            x = sigmas[0] * noise + (1 - sigmas[0]) * latent  # CONST noise_scaling
            g = torch.Generator().manual_seed(seed)
            y = fn(m, x, sigmas, g)
            last = sigmas[-1]
            if isinstance(y, tuple):  # uni_pc writes 0.001 into the caller's last sigma; ComfyUI then unscales by it
                y, last = y
            y = y / (1 - last)  # inverse_noise_scaling
            out['runs'].append({'sampler': name, 'scheduler': sched, 'steps': steps, 'denoise': denoise, 'cfg': cfg,
                                'sigmas': sigmas.tolist(), 'calls': m.calls, 'f32': f32_b64(y)})
    ref.write('sampling/fixtures/ode-samplers.json', out)


if __name__ == '__main__':
    main()
