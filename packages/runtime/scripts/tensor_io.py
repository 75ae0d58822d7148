"""DEV-ONLY: how the torch reference scripts read and write tensors: safetensors files, written from the format
description (8-byte little-endian header length, a JSON header of dtype/shape/data_offsets, then the raw
little-endian data), and float32 base64 strings for the JSON fixtures.

Every stored dtype the runtime reads (F32, F16, BF16, F8_E4M3) is decoded to its exact value in float64 first, so a
reference computes from exactly the numbers the TypeScript loader sees; scripts that want float32 get that exact
value rounded once (exact for all four dtypes). Needs: torch, numpy.
"""
import base64
import json
import struct

import numpy as np
import torch


def e4m3fn_table():
    """float64 value of every float8 e4m3fn bit pattern: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no
    infinities, 0x7f/0xff are NaN."""
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


def _decode(buf, dtype, name, path):
    if dtype == 'F32':
        return np.frombuffer(buf, dtype='<f4').astype(np.float64)
    if dtype == 'F16':
        return np.frombuffer(buf, dtype='<f2').astype(np.float64)
    if dtype == 'BF16':
        bits = np.frombuffer(buf, dtype='<u2').astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    if dtype == 'F8_E4M3':
        return E4M3[np.frombuffer(buf, dtype=np.uint8)]
    raise ValueError(f'{path}: unsupported dtype {dtype} for {name}')


def read_safetensors_with_metadata(path, dtype=torch.float64):
    """(name -> tensor of `dtype`, the header's __metadata__ dict) from a safetensors file."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        start, end = info['data_offsets']
        values = _decode(raw[base + start:base + end], info['dtype'], name, path)
        out[name] = torch.from_numpy(values.reshape(info['shape']).copy()).to(dtype)
    return out, meta


def read_safetensors(path, dtype=torch.float64):
    """name -> tensor of `dtype` from a safetensors file."""
    return read_safetensors_with_metadata(path, dtype)[0]


def write_f32_safetensors(path, tensors, metadata=None):
    """Writes name -> tensor as F32 (and `metadata` as __metadata__ when given)."""
    header = {} if metadata is None else {'__metadata__': metadata}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)  # the data starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def f32_b64(t):
    """A tensor as base64 of its float32 little-endian bytes (keeps every bit), as the JSON fixtures store values."""
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()).decode()
