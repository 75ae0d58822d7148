#!/usr/bin/env python3
"""DEV-ONLY: regenerate the fixtures of the Brownian-tree noise and of ComfyUI's SDE samplers.

torchsde is not installable here, so this script carries its own reference of the Brownian tree, written from
torchsde's published algorithm (BrownianTree = BrownianInterval with halfway_tree=True, tol 1e-6, pool_size 24,
Levy area 'none'): a dyadic binary tree over [t0, t1] whose nodes get their increment from the parent's by a Brownian
bridge, with each split's normals drawn by a CPU torch.Generator seeded from numpy's SeedSequence. The SDE samplers
below are ComfyUI's formulas (comfy/k_diffusion/sampling.py and sa_solver.py at a125cd84) re-typed as plain torch
float32 tensor expressions on a CONST (flow) model with FLUX's shift, to be compared with the TypeScript ports.

Needs: torch (Debian's python3-torch 1.13 was used, CPU), numpy (1.24; its SeedSequence is what torchsde uses).
Run:   /usr/bin/python3 packages/runtime/scripts/make-sde-fixtures.py
Writes: src/noise/fixtures/brownian-tree.json, src/sampling/fixtures/sde-samplers.json
"""
import importlib.util
import math
import os

import numpy as np
import torch

from tensor_io import f32_b64

HERE = os.path.dirname(os.path.abspath(__file__))

_spec = importlib.util.spec_from_file_location('ref', os.path.join(HERE, 'make-reference-fixtures.py'))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)  # schedules (ksampler_sigmas), the synthetic model, write


# ---------------------------------------------------------------- Brownian tree (own reference)
POOL = 24


def seeded_randn(size, seed):
    g = torch.Generator('cpu').manual_seed(int(seed))
    return torch.randn(size, dtype=torch.float32, generator=g)


def round6(v):
    return round(v, 6)  # tol 1e-6 -> times quantised to 6 decimals


class TreeNode:
    def __init__(self, start, end, key, depth):
        self.start, self.end, self.key, self.depth = round6(start), round6(end), key, depth
        self.mid = None
        self.left = self.right = None
        self.bridge_seed = None


class RefBrownianTree:
    """Increments W(ta, tb) of one Brownian path on [t0, t1] fixed by `entropy`."""

    def __init__(self, t0, t1, size, entropy):
        self.size, self.entropy = size, entropy
        self.root = TreeNode(t0, t1, 0, 0)
        w_seed = np.random.SeedSequence(entropy=entropy, pool_size=POOL).generate_state(3)[0]
        self.root_w = seeded_randn(size, w_seed) * math.sqrt(t1 - t0)
        self.splits = 0

    def children(self, node):
        if node.mid is None:
            node.mid = round6(0.5 * (node.end + node.start))
            seeds = np.random.SeedSequence(entropy=self.entropy, spawn_key=(node.key, node.depth),
                                           pool_size=POOL).generate_state(4)
            node.bridge_seed = seeds[0]
            node.left = TreeNode(node.start, node.mid, 2 * node.key, node.depth + 1)
            node.right = TreeNode(node.mid, node.end, 2 * node.key + 1, node.depth + 1)
            self.splits += 1
        return node.left, node.right

    def increment(self, path):
        """W over the node reached by `path` (list of (node, is_left) from the root), by bridging down."""
        w = self.root_w
        for parent, is_left in path:
            inv_h = 1 / (parent.end - parent.start)
            dl, dr = parent.mid - parent.start, parent.end - parent.mid
            mean = dl * w * inv_h
            left_w = mean + math.sqrt(dl * dr * inv_h) * seeded_randn(self.size, parent.bridge_seed)
            w = left_w if is_left else w - left_w
        return w

    def pieces(self, node, path, a, b, out):
        if a == node.start and b == node.end:
            out.append(list(path))
            return
        left, right = self.children(node)
        if b <= node.mid:
            self.pieces(left, path + [(node, True)], a, b, out)
        elif a >= node.mid:
            self.pieces(right, path + [(node, False)], a, b, out)
        else:
            self.pieces(left, path + [(node, True)], a, node.mid, out)
            self.pieces(right, path + [(node, False)], node.mid, b, out)

    def __call__(self, ta, tb):
        ta, tb = float(ta), float(tb)
        ta = min(max(ta, self.root.start), self.root.end)
        tb = min(max(tb, self.root.start), self.root.end)
        assert ta <= tb
        if ta == tb:
            return torch.zeros(self.size)
        out = []
        self.pieces(self.root, [], round6(ta), round6(tb), out)
        w = self.increment(out[0])
        for p in out[1:]:
            w = w + self.increment(p)
        return w


class RefTreeNoise:
    """ComfyUI's BrownianTreeNoiseSampler (cpu tree, identity transform, one seed)."""

    def __init__(self, x, sigma_min, sigma_max, seed):
        t0, t1 = torch.as_tensor(sigma_min), torch.as_tensor(sigma_max)
        t0, t1, self.sign = (t0, t1, 1) if t0 < t1 else (t1, t0, -1)
        self.tree = RefBrownianTree(float(t0), float(t1), tuple(x.shape), seed)

    def __call__(self, sigma, sigma_next):
        t0, t1 = torch.as_tensor(sigma), torch.as_tensor(sigma_next)
        a, b, sign = (t0, t1, 1) if t0 < t1 else (t1, t0, -1)
        w = self.tree(float(a), float(b)) * (self.sign * sign)
        return w / (t1 - t0).abs().sqrt()


def seed_sequence_cases():
    cases = []
    for entropy, spawn_key in [(0, ()), (42, ()), (3407, (0, 0)), (3407, (5, 3)), (2**64 - 1, (12345, 17)),
                               (1058487910949722, (1, 1)), (2**32, (2**21 + 3, 21)), (7, (2**40, 2))]:
        ss = np.random.SeedSequence(entropy=entropy, spawn_key=spawn_key, pool_size=POOL)
        cases.append({'entropy': str(entropy), 'spawnKey': [str(k) for k in spawn_key],
                      'state': [int(v) for v in ss.generate_state(6)]})
    pool4 = np.random.SeedSequence(entropy=[1, 2, 3, 4, 5, 6], pool_size=4)
    return cases, {'entropyWords': [1, 2, 3, 4, 5, 6], 'poolSize': 4, 'state': [int(v) for v in pool4.generate_state(5)]}


def brownian_fixtures():
    ss_cases, pool4 = seed_sequence_cases()
    shape = (1, 16, 4, 4)
    sig = torch.tensor([0.0291, 1.0], dtype=torch.float32)  # float32 sigma_min / sigma_max as ComfyUI passes them
    queries = [(1.0, 0.8), (0.8, 0.5), (0.5, 0.0291), (0.7, 0.35), (1.0, 0.0291), (0.123456, 0.654321),
               (0.3, 0.3), (0.99, 0.98999)]
    trees = []
    for seed in [0, 3407, 2**64 - 1]:
        tree = RefBrownianTree(float(sig[0]), float(sig[1]), shape, seed)
        out = []
        for a, b in queries:
            fa, fb = float(torch.tensor(a, dtype=torch.float32)), float(torch.tensor(b, dtype=torch.float32))
            lo, hi = min(fa, fb), max(fa, fb)
            out.append({'ta': lo, 'tb': hi, 'f32': f32_b64(tree(lo, hi))})
        trees.append({'seed': str(seed), 'queries': out})
    # The noise sampler (division by sqrt|dt|, signs) over a small shape that takes randn's double path.
    x = torch.zeros(3)
    ns = RefTreeNoise(x, sig[0], sig[1], 11)
    small = [{'sigma': float(torch.tensor(a)), 'sigmaNext': float(torch.tensor(b)),
              'f32': f32_b64(ns(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)))}
             for a, b in [(1.0, 0.7), (0.7, 0.0291), (0.2, 0.6)]]
    ref.write('noise/fixtures/brownian-tree.json', {
        'note': 'numpy 1.24 SeedSequence states; own torch reference of torchsde BrownianTree (tol 1e-6, pool 24)',
        'seedSequence': ss_cases, 'seedSequencePool4': pool4,
        'shape': list(shape), 't0': float(sig[0]), 't1': float(sig[1]), 'trees': trees,
        'noiseSampler': {'seed': 11, 'shape': [3], 'calls': small},
    })


# ---------------------------------------------------------------- SDE samplers (CONST, FLUX shift 1.15)
SHIFT = 1.15


def percent_to_sigma(p):
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    return ref.flux_time_shift(SHIFT, 1.0, 1.0 - p)


def lam(sigma):  # half-log-SNR of a CONST model
    return sigma.logit().neg()


def sig_of(l):
    return l.neg().sigmoid()


def offset_first(sigmas):
    if len(sigmas) > 1 and sigmas[0] >= 1:
        sigmas = sigmas.clone()
        sigmas[0] = percent_to_sigma(1e-4)
    return sigmas


def ancestral(sigma_from, sigma_to, eta):
    if not eta:
        return sigma_to, 0.
    up = torch.minimum(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    down = (sigma_to ** 2 - up ** 2) ** 0.5
    return down, up


def default_noise(x, seed):
    g = torch.Generator().manual_seed(seed)
    return lambda s, sn: torch.randn(x.size(), generator=g)


def dpmpp_sde(model, x, sigmas, seed, eta=1., s_noise=1., r=0.5):
    ns = RefTreeNoise(x, sigmas[sigmas > 0].min(), sigmas.max(), seed)
    sigmas = offset_first(sigmas)
    for i in range(len(sigmas) - 1):
        den = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = den
            continue
        ls, lt = lam(sigmas[i]), lam(sigmas[i + 1])
        h = lt - ls
        ls1 = ls + r * h
        fac = 1 / (2 * r)
        s1 = sig_of(ls1)
        a_s, a_s1, a_t = sigmas[i] * ls.exp(), s1 * ls1.exp(), sigmas[i + 1] * lt.exp()
        sd, su = ancestral(ls.neg().exp(), ls1.neg().exp(), eta)
        h_ = sd.log().neg() - ls
        x2 = (a_s1 / a_s) * (-h_).exp() * x - a_s1 * (-h_).expm1() * den
        x2 = x2 + a_s1 * ns(sigmas[i], s1) * s_noise * su
        den2 = model(x2, s1)
        sd, su = ancestral(ls.neg().exp(), lt.neg().exp(), eta)
        h_ = sd.log().neg() - ls
        dd = (1 - fac) * den + fac * den2
        x = (a_t / a_s) * (-h_).exp() * x - a_t * (-h_).expm1() * dd
        x = x + a_t * ns(sigmas[i], sigmas[i + 1]) * s_noise * su
    return x


def dpmpp_2m_sde(model, x, sigmas, seed, eta=1., s_noise=1., solver='midpoint'):
    ns = RefTreeNoise(x, sigmas[sigmas > 0].min(), sigmas.max(), seed)
    sigmas = offset_first(sigmas)
    old, h, h_last = None, None, None
    for i in range(len(sigmas) - 1):
        den = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = den
        else:
            ls, lt = lam(sigmas[i]), lam(sigmas[i + 1])
            h = lt - ls
            h_eta = h * (eta + 1)
            a_t = sigmas[i + 1] * lt.exp()
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x + a_t * (-h_eta).expm1().neg() * den
            if old is not None:
                r = h_last / h
                if solver == 'heun':
                    x = x + a_t * ((-h_eta).expm1().neg() / (-h_eta) + 1) * (1 / r) * (den - old)
                else:
                    x = x + 0.5 * a_t * (-h_eta).expm1().neg() * (1 / r) * (den - old)
            x = x + ns(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        old = den
        h_last = h
    return x


def dpmpp_3m_sde(model, x, sigmas, seed, eta=1., s_noise=1.):
    ns = RefTreeNoise(x, sigmas[sigmas > 0].min(), sigmas.max(), seed)
    sigmas = offset_first(sigmas)
    d1s, d2s, h, h1, h2 = None, None, None, None, None
    for i in range(len(sigmas) - 1):
        den = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = den
        else:
            ls, lt = lam(sigmas[i]), lam(sigmas[i + 1])
            h = lt - ls
            h_eta = h * (eta + 1)
            a_t = sigmas[i + 1] * lt.exp()
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x + a_t * (-h_eta).expm1().neg() * den
            if h2 is not None:
                r0, r1 = h1 / h, h2 / h
                d1_0 = (den - d1s) / r0
                d1_1 = (d1s - d2s) / r1
                d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                phi2 = h_eta.neg().expm1() / h_eta + 1
                phi3 = phi2 / h_eta - 0.5
                x = x + (a_t * phi2) * d1 - (a_t * phi3) * d2
            elif h1 is not None:
                r = h1 / h
                d = (den - d1s) / r
                phi2 = h_eta.neg().expm1() / h_eta + 1
                x = x + (a_t * phi2) * d
            x = x + ns(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        d1s, d2s = den, d1s
        h1, h2 = h, h1
    return x


def er_sde(model, x, sigmas, seed, s_noise=1., max_stage=3):
    ns = default_noise(x, seed)
    scaler = lambda v: v * ((v ** 0.3).exp() + 10.0)
    n_pts = 200.0
    idx = torch.arange(0, n_pts, dtype=torch.float32)
    sigmas = offset_first(sigmas)
    lams = lam(sigmas).neg().exp()
    old, old_d = None, None
    for i in range(len(sigmas) - 1):
        den = model(x, sigmas[i])
        stage = min(max_stage, i + 1)
        if sigmas[i + 1] == 0:
            x = den
        else:
            el_s, el_t = lams[i], lams[i + 1]
            a_s, a_t = sigmas[i] / el_s, sigmas[i + 1] / el_t
            r_a = a_t / a_s
            r = scaler(el_t) / scaler(el_s)
            x = r_a * r * x + a_t * (1 - r) * den
            if stage >= 2:
                dt = el_t - el_s
                step = -dt / n_pts
                pos = el_t + idx * step
                sp = scaler(pos)
                s = torch.sum(1 / sp) * step
                dd = (den - old) / (el_s - lams[i - 1])
                x = x + a_t * (dt + s * scaler(el_t)) * dd
                if stage >= 3:
                    s_u = torch.sum((pos - el_s) / sp) * step
                    du = (dd - old_d) / ((el_s - lams[i - 2]) / 2)
                    x = x + a_t * ((dt ** 2) / 2 + s_u * scaler(el_t)) * du
                old_d = dd
            x = x + a_t * ns(sigmas[i], sigmas[i + 1]) * s_noise * (el_t ** 2 - el_s ** 2 * r ** 2).sqrt().nan_to_num(nan=0.0)
        old = den
    return x


def phi1(h):
    return torch.expm1(h)


def phi2(h):
    return (torch.expm1(h) - h) / h


def seeds_2(model, x, sigmas, seed, eta=1., s_noise=1., r=0.5):
    ns = default_noise(x, seed)
    sigmas = offset_first(sigmas)
    fac = 1 / (2 * r)
    for i in range(len(sigmas) - 1):
        den = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = den
            continue
        ls, lt = lam(sigmas[i]), lam(sigmas[i + 1])
        h = lt - ls
        h_eta = h * (eta + 1)
        ls1 = torch.lerp(ls, lt, r)
        s1 = sig_of(ls1)
        a_s1, a_t = s1 * ls1.exp(), sigmas[i + 1] * lt.exp()
        x2 = s1 / sigmas[i] * (-r * h * eta).exp() * x - a_s1 * phi1(-r * h_eta) * den
        noise = (-2 * r * h * eta).expm1().neg().sqrt() * ns(sigmas[i], s1)
        x2 = x2 + noise * s1 * s_noise
        den2 = model(x2, s1)
        dd = torch.lerp(den, den2, fac)
        x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x - a_t * phi1(-h_eta) * dd
        seg = (r - 1) * h * eta
        noise = noise * seg.exp()
        noise = noise + seg.mul(2).expm1().neg().sqrt() * ns(s1, sigmas[i + 1])
        x = x + noise * sigmas[i + 1] * s_noise
    return x


def seeds_3(model, x, sigmas, seed, eta=1., s_noise=1., r1=1. / 3, r2=2. / 3):
    ns = default_noise(x, seed)
    sigmas = offset_first(sigmas)
    for i in range(len(sigmas) - 1):
        den = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = den
            continue
        ls, lt = lam(sigmas[i]), lam(sigmas[i + 1])
        h = lt - ls
        h_eta = h * (eta + 1)
        ls1, ls2 = torch.lerp(ls, lt, r1), torch.lerp(ls, lt, r2)
        s1, s2 = sig_of(ls1), sig_of(ls2)
        a_s1, a_s2, a_t = s1 * ls1.exp(), s2 * ls2.exp(), sigmas[i + 1] * lt.exp()
        x2 = s1 / sigmas[i] * (-r1 * h * eta).exp() * x - a_s1 * phi1(-r1 * h_eta) * den
        noise = (-2 * r1 * h * eta).expm1().neg().sqrt() * ns(sigmas[i], s1)
        x2 = x2 + noise * s1 * s_noise
        den2 = model(x2, s1)
        a32 = r2 / r1 * phi2(-r2 * h_eta)
        a31 = phi1(-r2 * h_eta) - a32
        x3 = s2 / sigmas[i] * (-r2 * h * eta).exp() * x - a_s2 * (a31 * den + a32 * den2)
        seg = (r1 - r2) * h * eta
        noise = noise * seg.exp()
        noise = noise + seg.mul(2).expm1().neg().sqrt() * ns(s1, s2)
        x3 = x3 + noise * s2 * s_noise
        den3 = model(x3, s2)
        b3 = phi2(-h_eta) / r2
        b1 = phi1(-h_eta) - b3
        x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x - a_t * (b1 * den + b3 * den3)
        seg = (r2 - 1) * h * eta
        noise = noise * seg.exp()
        noise = noise + seg.mul(2).expm1().neg().sqrt() * ns(s2, sigmas[i + 1])
        x = x + noise * sigmas[i + 1] * s_noise
    return x


def sa_exp_coeffs(s, t, order, tau):
    """(1 + tau^2) * int_s^t exp((1 + tau^2) x) x^p dx / exp((1 + tau^2) t), p < order, by integration by parts."""
    k = 1 + tau ** 2
    p = torch.arange(order, dtype=s.dtype)
    prod = t ** p - s ** p * (-k * (t - s)).exp()
    depth = p.unsqueeze(1) - p.unsqueeze(0)
    lf = (p + 1).lgamma()
    mat = lf.unsqueeze(1) - lf.unsqueeze(0)
    if tau > 0:
        mat = mat - depth * math.log(k)
    signs = torch.where(depth % 2 == 0, 1.0, -1.0)
    mat = (mat.exp() * signs).tril()
    return mat @ prod


def sa_b_coeffs(sigma_next, lams, ls, lt, tau):
    n = lams.shape[0]
    e = sa_exp_coeffs(ls, lt, n, tau)
    v = torch.vander(lams, n, increasing=True).T
    return sigma_next * lt.exp() * torch.linalg.solve(v, e)


def sa_solver(model, x, sigmas, seed, pece=False, s_noise=1.0, p_order=3, c_order=4):
    ns = default_noise(x, seed)
    sigmas = offset_first(sigmas)
    lams = lam(sigmas)
    start, end = percent_to_sigma(0.2), percent_to_sigma(0.8)
    tau_fn = lambda s: 1.0 if start >= s.item() >= end else 0.0
    max_order = max(p_order, c_order)
    x_pred = x
    h, tau, noise, preds = 0.0, 0.0, 0.0, []
    to_end = sigmas[-1].item() == 0
    for i in range(len(sigmas) - 1):
        den = model(x_pred, sigmas[i])
        preds = (preds + [den])[-max_order:]
        po = min(p_order, len(preds))
        co = 0 if i == 0 or (sigmas[i + 1] == 0 and not pece) else min(c_order, len(preds))
        if to_end:
            po = min(po, len(sigmas) - 2 - i)
            co = min(co, len(sigmas) - 1 - i)
        if co == 0:
            x = x_pred
        else:
            b = sa_b_coeffs(sigmas[i], lams[i - co + 1:i + 1], lams[i - 1], lams[i], tau)
            res = torch.tensordot(torch.stack(preds[-co:], dim=1), b, dims=([1], [0]))
            x = sigmas[i] / sigmas[i - 1] * (-(tau ** 2) * h).exp() * x + res
            if tau > 0 and s_noise > 0:
                x = x + noise
            if pece:
                den = model(x, sigmas[i])
                preds[-1] = den
        if sigmas[i + 1] == 0:
            x = den
        else:
            tau = tau_fn(sigmas[i + 1])
            b = sa_b_coeffs(sigmas[i + 1], lams[i - po + 1:i + 1], lams[i], lams[i + 1], tau)
            res = torch.tensordot(torch.stack(preds[-po:], dim=1), b, dims=([1], [0]))
            h = lams[i + 1] - lams[i]
            x_pred = sigmas[i + 1] / sigmas[i] * (-(tau ** 2) * h).exp() * x + res
            if tau > 0 and s_noise > 0:
                noise = ns(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * tau ** 2 * h).expm1().neg().sqrt() * s_noise
                x_pred = x_pred + noise
    return x


SAMPLERS = {
    'dpmpp_sde': dpmpp_sde,
    'dpmpp_2m_sde': dpmpp_2m_sde,
    'dpmpp_2m_sde_heun': lambda m, x, s, seed: dpmpp_2m_sde(m, x, s, seed, solver='heun'),
    'dpmpp_3m_sde': dpmpp_3m_sde,
    'er_sde': er_sde,
    'seeds_2': seeds_2,
    'seeds_3': seeds_3,
    'sa_solver': sa_solver,
    'sa_solver_pece': lambda m, x, s, seed: sa_solver(m, x, s, seed, pece=True),
}


def sampler_fixtures():
    seed, shape, noise, latent = ref.sampler_start()
    out = {'seed': seed, 'shape': shape, 'shift': SHIFT, 'latent': 'linspace(-1, 1, 256) as f32',
           'model': 'v = x * (0.5 + sigma) / (1 + x * x) - 0.3 * x; D = x - v * sigma', 'runs': []}
    for name, fn in SAMPLERS.items():
        for sched, steps, denoise in [('simple', 6, 1.0), ('karras', 5, 0.6), ('beta', 9, 1.0), ('simple', 28, 1.0)]:
            sigmas = torch.FloatTensor(ref.ksampler_sigmas(sched, name, steps, denoise))
            x = sigmas[0] * noise + (1 - sigmas[0]) * latent
            y = fn(ref.denoise_fn, x, sigmas, seed)
            y = y / (1 - sigmas[-1])
            out['runs'].append({'sampler': name, 'scheduler': sched, 'steps': steps, 'denoise': denoise,
                                'sigmas': sigmas.tolist(), 'f32': f32_b64(y)})
    ref.write('sampling/fixtures/sde-samplers.json', out)


if __name__ == '__main__':
    brownian_fixtures()
    sampler_fixtures()
