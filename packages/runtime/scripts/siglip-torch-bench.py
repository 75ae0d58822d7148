#!/usr/bin/env python3
"""DEV-ONLY: the PyTorch baseline of bench/vision-encoder.bench.ts. Times one float32 forward of the SigLIP so400m
vision tower at full width with LAYERS of its 27 layers (729 tokens, batch 1) through siglip_torch.py, and torch's GEMM
rate (1024x768x768 matmul), on THREADS threads; prints one JSON line. Weights are random (timing does not depend on
their values).

Run: /usr/bin/python3 packages/runtime/scripts/siglip-torch-bench.py LAYERS THREADS
"""
import json
import sys
import time

import torch

from siglip_torch import siglip_vision

W, M, P, T, HEADS = 1152, 4304, 14, 729, 16


def best_ms(fn, rounds):
    fn()
    best = float('inf')
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def blas_library():
    """The BLAS shared object this process really loaded (Debian switches libblas.so.3 by alternatives)."""
    with open('/proc/self/maps') as f:
        names = {line.split()[-1] for line in f if 'blas' in line.lower()}
    return ', '.join(sorted(n.rsplit('/', 1)[-1] for n in names)) or 'none found'


def main():
    layers, threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    r = lambda *shape: torch.randn(*shape) * 0.02
    w = {
        'vision_model.embeddings.patch_embedding.weight': r(W, 3, P, P),
        'vision_model.embeddings.patch_embedding.bias': r(W),
        'vision_model.embeddings.position_embedding.weight': r(T, W),
        'vision_model.post_layernorm.weight': torch.ones(W),
        'vision_model.post_layernorm.bias': r(W),
    }
    for i in range(layers):
        p = f'vision_model.encoder.layers.{i}.'
        for n in ('layer_norm1', 'layer_norm2'):
            w[p + n + '.weight'] = torch.ones(W)
            w[p + n + '.bias'] = r(W)
        for n in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
            w[p + 'self_attn.' + n + '.weight'] = r(W, W)
            w[p + 'self_attn.' + n + '.bias'] = r(W)
        w[p + 'mlp.fc1.weight'], w[p + 'mlp.fc1.bias'] = r(M, W), r(M)
        w[p + 'mlp.fc2.weight'], w[p + 'mlp.fc2.bias'] = r(W, M), r(W)
    pixels = torch.randn(1, 3, 384, 384)
    with torch.no_grad():
        forward_ms = best_ms(lambda: siglip_vision(w, pixels, HEADS), 5)
        a, b = torch.randn(1024, 768), torch.randn(768, 768)
        gemm_ms = best_ms(lambda: a @ b, 20)
    print(json.dumps({
        'forward_ms': forward_ms,
        'gemm_gflops': 2 * 1024 * 768 * 768 / (gemm_ms / 1000) / 1e9,
        'threads': threads,
        'blas': blas_library(),
        'torch': torch.__version__,
    }))


if __name__ == '__main__':
    main()
