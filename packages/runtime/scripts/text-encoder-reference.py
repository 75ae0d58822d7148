#!/usr/bin/env python3
"""DEV-ONLY: the PyTorch reference for the T5 v1.1 encoder and the CLIP text model, written from the published
architecture (Hugging Face's T5/CLIP configurations and papers; no code copied), run in float64 on the exact stored
weights of tiny checkpoints.

Called by scripts/make-text-encoder-fixtures.ts with a folder holding `t5-<DTYPE>.safetensors`,
`clip-<DTYPE>.safetensors` and `inputs.json`; writes `reference.json` there. Also used by bench/text-encoders.bench.ts
(`--bench FOLDER`) to time the same T5 layers in float32 at full width.
Needs: Debian's python3-torch 1.13 (OpenBLAS: libopenblas0-pthread) and the numpy it depends on.
"""
import json
import math
import os
import sys
import time

import torch

from tensor_io import f32_b64, read_safetensors


# ---------------------------------------------------------------- T5 v1.1 encoder
def t5_bucket(relative, num_buckets=32, max_distance=128):
    """Bidirectional bucket of key - query distances (int64 tensor); the log part in float32 as published."""
    half = num_buckets // 2
    bucket = (relative > 0).to(torch.long) * half
    distance = relative.abs()
    max_exact = half // 2
    ratio = torch.log(distance.float() / max_exact) / math.log(max_distance / max_exact)
    large = max_exact + (ratio * (half - max_exact)).to(torch.long)
    large = torch.clamp(large, max=half - 1)
    return bucket + torch.where(distance < max_exact, distance, large)


def t5_rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def t5_encoder(w, ids, heads, depth):
    x = w['shared.weight'][ids]  # [B, L, C]
    b, length, _ = x.shape
    pos = torch.arange(length)
    bucket = t5_bucket(pos[None, :] - pos[:, None])  # [L, L]
    bias = w['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'][bucket]  # [L, L, H]
    bias = bias.permute(2, 0, 1)[None]  # [1, H, L, L]
    for i in range(depth):
        p = f'encoder.block.{i}.layer'
        h = t5_rms(x, w[f'{p}.0.layer_norm.weight'])

        def split(t):
            return t.reshape(b, length, heads, -1).transpose(1, 2)  # [B, H, L, D]

        q = split(h @ w[f'{p}.0.SelfAttention.q.weight'].T)
        k = split(h @ w[f'{p}.0.SelfAttention.k.weight'].T)
        v = split(h @ w[f'{p}.0.SelfAttention.v.weight'].T)
        probs = torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1)  # no 1/sqrt(d)
        mixed = (probs @ v).transpose(1, 2).reshape(b, length, -1)
        x = x + mixed @ w[f'{p}.0.SelfAttention.o.weight'].T
        n = t5_rms(x, w[f'{p}.1.layer_norm.weight'])
        gated = gelu_tanh(n @ w[f'{p}.1.DenseReluDense.wi_0.weight'].T) * (n @ w[f'{p}.1.DenseReluDense.wi_1.weight'].T)
        x = x + gated @ w[f'{p}.1.DenseReluDense.wo.weight'].T
    return t5_rms(x, w['encoder.final_layer_norm.weight'])


# ---------------------------------------------------------------- CLIP text model
def layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def clip_text(w, ids, depth, head_dim=64):
    x = w['text_model.embeddings.token_embedding.weight'][ids]
    b, length, width = x.shape
    x = x + w['text_model.embeddings.position_embedding.weight'][:length]
    heads = width // head_dim
    causal = torch.full((length, length), float('-inf'), dtype=x.dtype).triu(1)
    for i in range(depth):
        p = f'text_model.encoder.layers.{i}'

        def lin(t, name):
            return t @ w[f'{p}.{name}.weight'].T + w[f'{p}.{name}.bias']

        def split(t):
            return t.reshape(b, length, heads, head_dim).transpose(1, 2)

        h = layer_norm(x, w[f'{p}.layer_norm1.weight'], w[f'{p}.layer_norm1.bias'])
        q = split(lin(h, 'self_attn.q_proj')) * head_dim ** -0.5
        k = split(lin(h, 'self_attn.k_proj'))
        v = split(lin(h, 'self_attn.v_proj'))
        probs = torch.softmax(q @ k.transpose(-1, -2) + causal, dim=-1)
        x = x + lin((probs @ v).transpose(1, 2).reshape(b, length, width), 'self_attn.out_proj')
        h = lin(layer_norm(x, w[f'{p}.layer_norm2.weight'], w[f'{p}.layer_norm2.bias']), 'mlp.fc1')
        x = x + lin(h * torch.sigmoid(1.702 * h), 'mlp.fc2')
    x = layer_norm(x, w['text_model.final_layer_norm.weight'], w['text_model.final_layer_norm.bias'])
    return x[torch.arange(b), ids.argmax(dim=-1)]  # first end-of-text token


def fixtures(folder):
    with open(os.path.join(folder, 'inputs.json')) as f:
        inputs = json.load(f)
    t5 = inputs['t5']
    clip = inputs['clip']
    t5_ids = torch.tensor(t5['ids'], dtype=torch.long).reshape(t5['batch'], t5['length'])
    clip_ids = torch.tensor(clip['ids'], dtype=torch.long).reshape(clip['batch'], clip['length'])
    out = {'t5': {}, 'clip': {}}
    for dtype in inputs['dtypes']:
        w = read_safetensors(os.path.join(folder, f't5-{dtype}.safetensors'))
        out['t5'][dtype] = f32_b64(t5_encoder(w, t5_ids, t5['heads'], t5['depth']))
        w = read_safetensors(os.path.join(folder, f'clip-{dtype}.safetensors'))
        out['clip'][dtype] = f32_b64(clip_text(w, clip_ids, clip['depth']))
    span = 300
    out['t5_buckets'] = {'from': -span, 'buckets': t5_bucket(torch.arange(-span, span + 1)).tolist()}
    with open(os.path.join(folder, 'reference.json'), 'w') as f:
        json.dump(out, f)


# ---------------------------------------------------------------- bench: T5 layers at full width, float32
def bench(folder):
    """Times t5_encoder_f32 on zero float32 weights of the shapes in `bench-inputs.json` (the benchmark's sparse file
    reads as zeros too; GEMM cost does not depend on the values) and prints one JSON line: median ms, torch's GEMM
    rate on 1024x768x768, and whether the BLAS library loaded is OpenBLAS (torch.__config__ says 'generic' for
    Debian's build, which binds whatever libblas.so.3 the system selects, so the loaded library is checked)."""
    with open(os.path.join(folder, 'bench-inputs.json')) as f:
        spec = json.load(f)
    torch.set_num_threads(spec['threads'])
    width, heads, ff = spec['width'], spec['heads'], spec['ff']
    w = {'shared.weight': torch.zeros(spec['vocab'], width),
         'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight': torch.zeros(32, heads),
         'encoder.final_layer_norm.weight': torch.ones(width)}
    for i in range(spec['depth']):
        p = f'encoder.block.{i}.layer'
        for n in 'qkvo':
            w[f'{p}.0.SelfAttention.{n}.weight'] = torch.zeros(width, width)
        w[f'{p}.0.layer_norm.weight'] = torch.ones(width)
        w[f'{p}.1.DenseReluDense.wi_0.weight'] = torch.zeros(ff, width)
        w[f'{p}.1.DenseReluDense.wi_1.weight'] = torch.zeros(ff, width)
        w[f'{p}.1.DenseReluDense.wo.weight'] = torch.zeros(width, ff)
        w[f'{p}.1.layer_norm.weight'] = torch.ones(width)
    ids = torch.tensor(spec['ids'], dtype=torch.long).reshape(1, -1)

    def rms32(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * weight

    def run():
        with torch.no_grad():
            return t5_encoder_f32(w, ids, heads, spec['depth'], rms32)

    run()
    times = []
    for _ in range(spec['repeats']):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    a, b = torch.randn(1024, 768), torch.randn(768, 768)
    a @ b
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        a @ b
    gemm_gflops = 2 * 1024 * 768 * 768 * reps / (time.perf_counter() - t0) / 1e9
    with open('/proc/self/maps') as f:
        openblas = any('openblas' in line for line in f)
    print(json.dumps({'ms': sorted(times)[len(times) // 2], 'gemm_gflops': gemm_gflops, 'openblas': openblas,
                      'threads': torch.get_num_threads()}))


def t5_encoder_f32(w, ids, heads, depth, rms):
    """The same encoder as t5_encoder, in float32 with torch's fused GELU (the bench's fair baseline)."""
    x = w['shared.weight'][ids]
    b, length, _ = x.shape
    pos = torch.arange(length)
    bias = w['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'][t5_bucket(pos[None, :] - pos[:, None])]
    bias = bias.permute(2, 0, 1)[None]
    for i in range(depth):
        p = f'encoder.block.{i}.layer'
        h = rms(x, w[f'{p}.0.layer_norm.weight'])
        q = (h @ w[f'{p}.0.SelfAttention.q.weight'].T).reshape(b, length, heads, -1).transpose(1, 2)
        k = (h @ w[f'{p}.0.SelfAttention.k.weight'].T).reshape(b, length, heads, -1).transpose(1, 2)
        v = (h @ w[f'{p}.0.SelfAttention.v.weight'].T).reshape(b, length, heads, -1).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1)
        x = x + (probs @ v).transpose(1, 2).reshape(b, length, -1) @ w[f'{p}.0.SelfAttention.o.weight'].T
        n = rms(x, w[f'{p}.1.layer_norm.weight'])
        gate = torch.nn.functional.gelu(n @ w[f'{p}.1.DenseReluDense.wi_0.weight'].T, approximate='tanh')
        x = x + (gate * (n @ w[f'{p}.1.DenseReluDense.wi_1.weight'].T)) @ w[f'{p}.1.DenseReluDense.wo.weight'].T
    return rms(x, w['encoder.final_layer_norm.weight'])


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--bench':
        bench(sys.argv[2])
    elif len(sys.argv) == 2:
        fixtures(sys.argv[1])
    else:
        sys.exit('usage: text-encoder-reference.py FOLDER | --bench FOLDER')
