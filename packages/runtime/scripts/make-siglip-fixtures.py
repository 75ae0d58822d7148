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
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

from siglip_torch import siglip_vision, uso_projector

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
OUT = os.path.join(HERE, '..', 'src', 'models', 'architectures', 'fixtures', 'siglip-tiny-reference.safetensors')
DTYPES = ['F32', 'F16', 'BF16', 'F8_E4M3']


def e4m3fn_table():
    """float64 value of every float8 e4m3fn bit pattern (bias 7, no infinities, 0x7f/0xff NaN)."""
    table = np.zeros(256, dtype=np.float64)
    for bits in range(256):
        sign = -1.0 if bits & 0x80 else 1.0
        exp = (bits >> 3) & 0xF
        man = bits & 7
        if exp == 15 and man == 7:
            table[bits] = np.nan
        elif exp == 0:
            table[bits] = sign * (man / 8) * 2.0 ** -6
        else:
            table[bits] = sign * (1 + man / 8) * 2.0 ** (exp - 7)
    return table


E4M3 = e4m3fn_table()


def read_safetensors(path):
    """name -> float64 tensor, decoding F32/F16/BF16/F8_E4M3 from the file's bytes; plus the metadata."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        start, end = info['data_offsets']
        buf = raw[base + start:base + end]
        dtype = info['dtype']
        if dtype == 'F32':
            arr = np.frombuffer(buf, dtype='<f4').astype(np.float64)
        elif dtype == 'F16':
            arr = np.frombuffer(buf, dtype='<f2').astype(np.float64)
        elif dtype == 'BF16':
            bits = np.frombuffer(buf, dtype='<u2').astype(np.uint32) << 16
            arr = bits.view(np.float32).astype(np.float64)
        elif dtype == 'F8_E4M3':
            arr = E4M3[np.frombuffer(buf, dtype=np.uint8)]
        else:
            raise ValueError(f'{path}: unsupported dtype {dtype} for {name}')
        out[name] = torch.from_numpy(arr.reshape(info['shape']).copy())
    return out, meta


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        listing = subprocess.run(
            ['node', '--import', 'tsx', os.path.join(HERE, 'write-siglip-tiny.ts'), tmp],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        files = json.loads(listing.stdout)
        pixels = read_safetensors(files['inputs'])[0]['pixel_values']
        projector = read_safetensors(files['projector'])[0]
        result = {}
        for dtype in DTYPES:
            weights, meta = read_safetensors(files['siglip'][dtype])
            heads = int(meta['num_attention_heads'])
            last, states = siglip_vision(weights, pixels, heads)
            n = len(states)
            # ComfyUI's all_hidden_states[:, -20], [:, -11] and penultimate (= [:, -2]): after layers n-19, n-10, n-1.
            low, mid, high = states[n - 20], states[n - 11], states[n - 2]
            result[f'{dtype}.last_hidden_state'] = last
            result[f'{dtype}.hidden_states'] = torch.stack([low, mid, high], dim=1)
            result[f'{dtype}.penultimate_hidden_states'] = states[n - 2]
            result[f'{dtype}.style_tokens'] = uso_projector(projector, low, mid, high)
    write_safetensors(OUT, result, {
        'made_by': 'packages/runtime/scripts/make-siglip-fixtures.py',
        'made_from': 'scripts/write-siglip-tiny.ts toy files (siglip-tiny.ts)',
        'torch': torch.__version__,
        'precision': 'float64 reference, stored as float32',
    })
    print('wrote', OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    sys.exit(main())
