#!/usr/bin/env python3
"""DEV-ONLY: an independent PyTorch implementation of the FLUX.1 DiT with USO's style and reference tokens.

Written from the published architecture (Black Forest Labs' FLUX.1 description and USO's token layout, see
shared/reference/uso-model.md), not from any existing implementation. Used two ways:
  * by scripts/make-flux-dit-fixtures.ts: `flux_dit_reference.py run WEIGHTS INPUTS OUT` reads a BFL-named
    safetensors checkpoint (F32/F16/BF16/F8_E4M3, decoded here to float32) and a safetensors file of cases
    (`<case>/<input>` tensors in the dit contract's names, optional `<case>/lora_strength`), and writes
    `<case>/velocity` for each case;
  * by bench/flux-dit.bench.ts: `flux_dit_reference.py serve JSON` holds one full-width double and single block and
    times one call of either per request, alternating with ours.
Needs: torch (Debian's python3-torch 1.13 was used), numpy.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from tensor_io import read_safetensors, write_f32_safetensors

EPS = 1e-6


# ---------------------------------------------------------------- the model

class Weights:
    """Looks weights up by BFL name; LoRAs are merged into the weights they patch (the reference for the run-time branch)."""

    def __init__(self, tensors, loras=None):
        self.t = tensors
        self.loras = loras or {}  # weight key -> list of (up, down, scale, row_offset)

    def linear(self, x, name):
        w = self.t[f'{name}.weight']
        patches = self.loras.get(f'{name}.weight', [])
        if patches:
            # Merged, as a LoRA loader does it: W[rows] += scale * (up @ down).
            w = w.clone()
            for up, down, scale, row in patches:
                w[row:row + up.shape[0]] += scale * (up @ down)
        return x @ w.T + self.t[f'{name}.bias']


def timestep_embedding(t, dim=256, max_period=10000, time_factor=1000.0):
    """Sinusoidal embedding of t * 1000: [cos(t f_j), sin(t f_j)], f_j = exp(-ln(max_period) j / half)."""
    t = time_factor * t
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def rope_tables(ids, axes_dim, theta):
    """Per axis: angles pos * theta^(-2j/d) in float64, as cos/sin in float32; axes concatenated. -> [B, L, D/2] x 2."""
    angles = []
    for i, d in enumerate(axes_dim):
        omega = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        angles.append(ids[..., i].to(torch.float64)[..., None] * omega)
    a = torch.cat(angles, dim=-1)
    return torch.cos(a).float(), torch.sin(a).float()


def apply_rope(x, cos, sin):
    """x [B, H, L, D]: rotate adjacent pairs (x[2j], x[2j+1]) by the angle of pair j."""
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    c = cos[:, None]
    s = sin[:, None]
    r0 = x0 * c - x1 * s
    r1 = x0 * s + x1 * c
    return torch.stack([r0, r1], dim=-1).flatten(-2)


def rms_norm(x, scale):
    return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + EPS) * scale


def layer_norm(x):
    return F.layer_norm(x, (x.shape[-1],), eps=EPS)


def heads(x, n_heads):
    """[B, L, 3*H*D] -> q, k, v [B, H, L, D]."""
    b, l, _ = x.shape
    return x.view(b, l, 3, n_heads, -1).permute(2, 0, 3, 1, 4)


def attention(q, k, v, cos, sin):
    q = apply_rope(q, cos, sin)
    k = apply_rope(k, cos, sin)
    out = F.softmax((q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]), dim=-1) @ v
    b, h, l, d = out.shape
    return out.permute(0, 2, 1, 3).reshape(b, l, h * d)


def mod_chunks(W, vec, name, n):
    return W.linear(F.silu(vec), name)[:, None, :].chunk(n, dim=-1)


def double_block(W, p, txt, img, vec, cos, sin, n_heads):
    streams = {}
    for s, x in (('txt', txt), ('img', img)):
        sh1, sc1, g1, sh2, sc2, g2 = mod_chunks(W, vec, f'{p}.{s}_mod.lin', 6)
        qkv = W.linear((1 + sc1) * layer_norm(x) + sh1, f'{p}.{s}_attn.qkv')
        q, k, v = heads(qkv, n_heads)
        q = rms_norm(q, W.t[f'{p}.{s}_attn.norm.query_norm.scale'])
        k = rms_norm(k, W.t[f'{p}.{s}_attn.norm.key_norm.scale'])
        streams[s] = (x, q, k, v, (sh2, sc2, g1, g2))
    lt = txt.shape[1]
    q = torch.cat([streams['txt'][1], streams['img'][1]], dim=2)
    k = torch.cat([streams['txt'][2], streams['img'][2]], dim=2)
    v = torch.cat([streams['txt'][3], streams['img'][3]], dim=2)
    a = attention(q, k, v, cos, sin)
    outs = []
    for s, part in (('txt', a[:, :lt]), ('img', a[:, lt:])):
        x, _, _, _, (sh2, sc2, g1, g2) = streams[s]
        x = x + g1 * W.linear(part, f'{p}.{s}_attn.proj')
        h = W.linear((1 + sc2) * layer_norm(x) + sh2, f'{p}.{s}_mlp.0')
        x = x + g2 * W.linear(F.gelu(h, approximate='tanh'), f'{p}.{s}_mlp.2')
        outs.append(x)
    return outs[0], outs[1]


def single_block(W, p, x, vec, cos, sin, n_heads, hidden):
    sh, sc, g = mod_chunks(W, vec, f'{p}.modulation.lin', 3)
    h = W.linear((1 + sc) * layer_norm(x) + sh, f'{p}.linear1')
    qkv, mlp = h[..., :3 * hidden], h[..., 3 * hidden:]
    q, k, v = heads(qkv, n_heads)
    q = rms_norm(q, W.t[f'{p}.norm.query_norm.scale'])
    k = rms_norm(k, W.t[f'{p}.norm.key_norm.scale'])
    a = attention(q, k, v, cos, sin)
    return x + g * W.linear(torch.cat([a, F.gelu(mlp, approximate='tanh')], dim=-1), f'{p}.linear2')


def count(tensors, prefix):
    return len({int(k[len(prefix):].split('.')[0]) for k in tensors if k.startswith(prefix)})


def flux_forward(W, inp):
    t = W.t
    hidden = t['img_in.weight'].shape[0]
    head_dim = t['double_blocks.0.img_attn.norm.query_norm.scale'].shape[0]
    n_heads = hidden // head_dim
    axes = [head_dim // 8, 7 * head_dim // 16, 7 * head_dim // 16]
    n = inp['img'].shape[1]
    img = W.linear(torch.cat([inp['img'], inp['ref_img']], dim=1), 'img_in')
    txt = torch.cat([inp['style'], W.linear(inp['txt'], 'txt_in')], dim=1)
    vec = W.linear(F.silu(W.linear(timestep_embedding(inp['timesteps']), 'time_in.in_layer')), 'time_in.out_layer')
    if 'guidance_in.in_layer.weight' in t:
        g = timestep_embedding(inp['guidance'])
        vec = vec + W.linear(F.silu(W.linear(g, 'guidance_in.in_layer')), 'guidance_in.out_layer')
    vec = vec + W.linear(F.silu(W.linear(inp['y'], 'vector_in.in_layer')), 'vector_in.out_layer')
    b, s = inp['style'].shape[:2]
    ids = torch.cat([torch.zeros(b, s, 3), inp['txt_ids'], inp['img_ids'], inp['ref_img_ids']], dim=1)
    cos, sin = rope_tables(ids, axes, 10000)
    for i in range(count(t, 'double_blocks.')):
        txt, img = double_block(W, f'double_blocks.{i}', txt, img, vec, cos, sin, n_heads)
    x = torch.cat([txt, img], dim=1)
    for i in range(count(t, 'single_blocks.')):
        x = single_block(W, f'single_blocks.{i}', x, vec, cos, sin, n_heads, hidden)
    x = x[:, txt.shape[1]:txt.shape[1] + n]
    shift, scale = W.linear(F.silu(vec), 'final_layer.adaLN_modulation.1')[:, None, :].chunk(2, dim=-1)
    return W.linear((1 + scale) * layer_norm(x) + shift, 'final_layer.linear')


# ---------------------------------------------------------------- commands

def load_loras(path, strength_of):
    """LoRA file in BFL names `<module>.lora_up.weight` / `.lora_down.weight` / `.alpha` (+ optional `.row_offset`)."""
    tensors = read_safetensors(path, torch.float32)
    loras = {}
    for key in tensors:
        if not key.endswith('.lora_down.weight'):
            continue
        base = key[:-len('.lora_down.weight')]
        down = tensors[key]
        up = tensors[f'{base}.lora_up.weight']
        alpha = float(tensors[f'{base}.alpha']) if f'{base}.alpha' in tensors else down.shape[0]
        row = int(tensors[f'{base}.row_offset']) if f'{base}.row_offset' in tensors else 0
        loras.setdefault(f'{base}.weight', []).append((up, down, alpha / down.shape[0], row, strength_of))
    return loras


def run(weights_path, inputs_path, out_path, lora_path=None):
    torch.set_grad_enabled(False)
    weights = read_safetensors(weights_path, torch.float32)
    inputs = read_safetensors(inputs_path, torch.float32)
    cases = sorted({k.split('/')[0] for k in inputs})
    lora_tensors = load_loras(lora_path, None) if lora_path else {}
    out = {}
    for case in cases:
        inp = {k.split('/', 1)[1]: v for k, v in inputs.items() if k.startswith(case + '/')}
        strength = float(inp['lora_strength']) if 'lora_strength' in inp else 0.0
        loras = {k: [(u, d, s * strength, r) for (u, d, s, r, _) in v] for k, v in lora_tensors.items()}
        out[f'{case}/velocity'] = flux_forward(Weights(weights, loras), inp)
    write_f32_safetensors(out_path, out)


def blas_in_use():
    """Debian's torch says BLAS_INFO=generic and calls whatever libblas.so.3 the alternatives pick: ask the process."""
    with open('/proc/self/maps') as f:
        maps = f.read()
    return 'openblas' if 'openblas' in maps else 'reference or other'


def serve(spec_json):
    """Holds one full-width double and single block and times one call per request, so that the bench can alternate
    our runs with these (a shared machine drifts by tens of percent within a minute; back-to-back pairs see the same
    conditions). Prints a ready line {blas, torch}, then answers each stdin line: 'double', 'single' or 'linear1'
    (the single block's first Linear alone) with {cpu_ms}, the process's CPU time (all threads) for one call; 'gemm'
    with {gflops}, the best wall-time rate of ten 1024x768x768 matmuls (a crippled BLAS shows here). Ends at EOF."""
    spec = json.loads(spec_json)
    torch.set_grad_enabled(False)
    torch.set_num_threads(spec.get('threads', 2))
    c, hds, mlp_h = spec['hidden'], spec['heads'], spec['mlp']
    lt, li = spec['txt'], spec['img']
    gen = torch.Generator().manual_seed(0)

    def rnd(*shape, std=0.02):
        return torch.randn(*shape, generator=gen) * std

    t = {}
    for s in ('img', 'txt'):
        p = f'd.{s}'
        t[f'{p}_mod.lin.weight'], t[f'{p}_mod.lin.bias'] = rnd(6 * c, c), rnd(6 * c)
        t[f'{p}_attn.qkv.weight'], t[f'{p}_attn.qkv.bias'] = rnd(3 * c, c), rnd(3 * c)
        t[f'{p}_attn.norm.query_norm.scale'] = torch.ones(c // hds)
        t[f'{p}_attn.norm.key_norm.scale'] = torch.ones(c // hds)
        t[f'{p}_attn.proj.weight'], t[f'{p}_attn.proj.bias'] = rnd(c, c), rnd(c)
        t[f'{p}_mlp.0.weight'], t[f'{p}_mlp.0.bias'] = rnd(mlp_h, c), rnd(mlp_h)
        t[f'{p}_mlp.2.weight'], t[f'{p}_mlp.2.bias'] = rnd(c, mlp_h), rnd(c)
    t['s.linear1.weight'], t['s.linear1.bias'] = rnd(3 * c + mlp_h, c), rnd(3 * c + mlp_h)
    t['s.linear2.weight'], t['s.linear2.bias'] = rnd(c, c + mlp_h), rnd(c)
    t['s.norm.query_norm.scale'] = torch.ones(c // hds)
    t['s.norm.key_norm.scale'] = torch.ones(c // hds)
    t['s.modulation.lin.weight'], t['s.modulation.lin.bias'] = rnd(3 * c, c), rnd(3 * c)
    W = Weights(t)
    txt, img, vec = rnd(1, lt, c, std=1), rnd(1, li, c, std=1), rnd(1, c, std=1)
    ids = torch.zeros(1, lt + li, 3)
    head_dim = c // hds
    cos, sin = rope_tables(ids, [head_dim // 8, 7 * head_dim // 16, 7 * head_dim // 16], 10000)
    x = torch.cat([txt, img], dim=1)
    blocks = {
        'double': lambda: double_block(W, 'd', txt, img, vec, cos, sin, hds),
        'single': lambda: single_block(W, 's', x, vec, cos, sin, hds, c),
        'linear1': lambda: W.linear(x, 's.linear1'),
    }

    a, b = torch.randn(1024, 768), torch.randn(768, 768)

    def gemm_gflops():
        a @ b
        return 2 * 1024 * 768 * 768 / min(_timed(lambda: a @ b, time.perf_counter) for _ in range(10)) / 1e9

    print(json.dumps({'blas': blas_in_use(), 'torch': torch.__version__}), flush=True)
    for line in sys.stdin:
        request = line.strip()
        if request == 'gemm':
            print(json.dumps({'gflops': gemm_gflops()}), flush=True)
        else:
            print(json.dumps({'cpu_ms': _timed(blocks[request], time.process_time) * 1000}), flush=True)


def _timed(fn, clock):
    t0 = clock()
    fn()
    return clock() - t0


if __name__ == '__main__':
    if sys.argv[1] == 'run':
        run(*sys.argv[2:])
    elif sys.argv[1] == 'serve':
        serve(sys.argv[2])
    else:
        raise SystemExit(__doc__)
