#!/usr/bin/env python3
"""DEV-ONLY: reference outputs of the toy SigLIP vision tower and the USO projector, for the parity tests.

An independent PyTorch implementation written from the published architecture (Hugging Face's SigLIP vision
transformer: patch conv with bias, learned position embeddings, pre-norm layers with LayerNorm eps 1e-6, separate
q/k/v/out projections, tanh-GELU MLP, post-layernorm, no class token; USO's SigLIPMultiFeatProjModel for the
projector), computed in float64 from the exact values each stored dtype holds. Nothing in the runtime or its tests
runs Python: the tests read the committed fixture.

Made from: the toy files written by scripts/write-siglip-tiny.ts (src/models/architectures/siglip-tiny.ts: random
weights seeded by tensor name in F32, F16, BF16 and F8_E4M3, seeded pixel values), so torch reads exactly the bytes
the tests load.

Needs: node (with the repo installed), torch (Debian's python3-torch 1.13 was used), numpy.
Run:   /usr/bin/python3 packages/runtime/scripts/make-siglip-fixtures.py
Writes: src/models/architectures/fixtures/siglip-tiny-reference.safetensors
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

from tensor_io import read_safetensors, read_safetensors_with_metadata, write_f32_safetensors
from siglip_torch import siglip_vision, uso_projector

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
OUT = os.path.join(HERE, '..', 'src', 'models', 'architectures', 'fixtures', 'siglip-tiny-reference.safetensors')
DTYPES = ['F32', 'F16', 'BF16', 'F8_E4M3']


def main():
    with tempfile.TemporaryDirectory() as tmp:
        listing = subprocess.run(
            ['node', '--import', 'tsx', os.path.join(HERE, 'write-siglip-tiny.ts'), tmp],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        files = json.loads(listing.stdout)
        pixels = read_safetensors(files['inputs'])['pixel_values']
        projector = read_safetensors(files['projector'])
        result = {}
        for dtype in DTYPES:
            weights, meta = read_safetensors_with_metadata(files['siglip'][dtype])
            heads = int(meta['num_attention_heads'])
            last, states = siglip_vision(weights, pixels, heads)
            n = len(states)
            # ComfyUI's all_hidden_states[:, -20], [:, -11] and penultimate (= [:, -2]): after layers n-19, n-10, n-1.
            low, mid, high = states[n - 20], states[n - 11], states[n - 2]
            result[f'{dtype}.last_hidden_state'] = last
            result[f'{dtype}.hidden_states'] = torch.stack([low, mid, high], dim=1)
            result[f'{dtype}.penultimate_hidden_states'] = states[n - 2]
            result[f'{dtype}.style_tokens'] = uso_projector(projector, low, mid, high)
    write_f32_safetensors(OUT, result, {
        'made_by': 'packages/runtime/scripts/make-siglip-fixtures.py',
        'made_from': 'scripts/write-siglip-tiny.ts toy files (siglip-tiny.ts)',
        'torch': torch.__version__,
        'precision': 'float64 reference, stored as float32',
    })
    print('wrote', OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    sys.exit(main())
