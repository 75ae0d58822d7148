#!/usr/bin/python3
"""Reference outputs for the FLUX VAE golden tests (dev tool; tests read the committed fixture, never run this).

An independent PyTorch implementation of the FLUX autoencoder written from the published architecture (Black Forest
Labs' flux/modules/autoencoder.py description: ResnetBlock with GroupNorm(32, eps 1e-6) and swish, a single-head
AttnBlock with 1x1 conv q/k/v/proj_out, Downsample = F.pad(0, 1, 0, 1) then a 3x3 stride-2 conv, Upsample = nearest
x2 then a 3x3 conv, encoder returning the posterior mean), in a tiny configuration (ch 32, ch_mult [1, 2, 2, 2], 2
encoder / 3 decoder res blocks, 16 latent channels). Weights are seeded by tensor name exactly as
src/models/random-weights.ts does (FNV-1a, mulberry32, Box-Muller), rounded to each stored dtype (F32, BF16, F16,
F8_E4M3 round-to-nearest-even), and the model runs in float64.

Run: /usr/bin/python3 packages/runtime/scripts/flux-vae-reference.py  (Debian python3-torch 1.13; about 20 s)
Writes: packages/runtime/src/models/architectures/fixtures/flux-vae-reference.json
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tensor_io import f32_b64

CONFIG = {"ch": 32, "ch_mult": [1, 2, 2, 2], "enc_blocks": 2, "dec_blocks": 3, "z": 16, "in_ch": 3}
IMAGE_SHAPE = [2, 3, 40, 24]  # odd latent sizes (5 x 3) exercise the asymmetric padding at every level
LATENT_SHAPE = [2, 16, 5, 3]
DTYPES = ["F32", "BF16", "F16", "F8_E4M3"]


# ---------------------------------------------------------------- seeded weights (mirror of random-weights.ts)

def fnv1a(text):
    """32-bit FNV-1a over UTF-16 code units, as JavaScript's charCodeAt sees the string."""
    h = 0x811C9DC5
    units = np.frombuffer(text.encode("utf-16-le"), dtype="<u2")
    for u in units:
        h ^= int(u)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def mulberry32(seed):
    state = [seed & 0xFFFFFFFF]

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def rand():
        state[0] = (state[0] + 0x6D2B79F5) & 0xFFFFFFFF
        t = state[0]
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0

    return rand


def random_weight(name, shape, std=1.0, mean=0.0, seed=0):
    rand = mulberry32(fnv1a(f"{seed}:{name}"))
    n = int(np.prod(shape)) if len(shape) else 1
    out = np.empty(n, dtype=np.float32)
    for i in range(0, n, 2):
        u1 = max(rand(), 1e-12)
        u2 = rand()
        r = math.sqrt(-2.0 * math.log(u1))
        out[i] = mean + std * r * math.cos(2.0 * math.pi * u2)
        if i + 1 < n:
            out[i + 1] = mean + std * r * math.sin(2.0 * math.pi * u2)
    return out.reshape(shape)


def weight_spec(name, shape):
    """std/mean per tensor kind; mirrored by fluxVaeTestSpec in flux-vae.test-support.ts."""
    if name.endswith(".bias"):
        return 0.05, 0.0
    if len(shape) == 1:  # GroupNorm scale
        return 0.1, 1.0
    fan_in = int(np.prod(shape[1:]))
    return 1.0 / math.sqrt(fan_in), 0.0


def to_f8_e4m3(x):
    """float32 -> nearest float8 e4m3fn value (round half to even; saturates at 448), as float32."""
    x = x.astype(np.float64)
    sign = np.sign(x)
    a = np.abs(x)
    exp = np.floor(np.log2(np.maximum(a, 2.0 ** -30)))
    exp = np.maximum(exp, -6.0)  # below 2^-6 the spacing is fixed (subnormals, step 2^-9)
    step = 2.0 ** (exp - 3)
    q = np.round(a / step) * step  # numpy rounds half to even
    q = np.minimum(q, 448.0)
    return (sign * q).astype(np.float32)


def round_to(dtype, values):
    t = torch.from_numpy(values)
    if dtype == "F32":
        return t
    if dtype == "BF16":
        return t.to(torch.bfloat16).to(torch.float32)
    if dtype == "F16":
        return t.to(torch.float16).to(torch.float32)
    return torch.from_numpy(to_f8_e4m3(values))


# ---------------------------------------------------------------- the model, from the published architecture

def norm(width):
    return nn.GroupNorm(32, width, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        skip = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return skip + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = norm(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h = self.norm(x)
        b, c, hh, ww = x.shape
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)  # [b, hw, c]
        k = self.k(h).reshape(b, c, hh * ww)  # [b, c, hw]
        v = self.v(h).reshape(b, c, hh * ww).transpose(1, 2)  # [b, hw, c]
        attn = torch.softmax(torch.bmm(q, k) / math.sqrt(c), dim=-1)
        out = torch.bmm(attn, v).transpose(1, 2).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Down(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Mid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block_1 = ResnetBlock(c, c)
        self.attn_1 = AttnBlock(c)
        self.block_2 = ResnetBlock(c, c)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    def __init__(self, ch, ch_mult, blocks, z, in_ch):
        super().__init__()
        self.conv_in = nn.Conv2d(in_ch, ch, 3, 1, 1)
        self.down = nn.ModuleList()
        cin = ch
        for level, mult in enumerate(ch_mult):
            stage = nn.Module()
            stage.block = nn.ModuleList()
            for _ in range(blocks):
                stage.block.append(ResnetBlock(cin, ch * mult))
                cin = ch * mult
            if level != len(ch_mult) - 1:
                stage.downsample = Down(cin)
            self.down.append(stage)
        self.mid = Mid(cin)
        self.norm_out = norm(cin)
        self.conv_out = nn.Conv2d(cin, 2 * z, 3, 1, 1)
        self.z = z

    def forward(self, x):
        h = self.conv_in(x)
        for stage in self.down:
            for block in stage.block:
                h = block(h)
            if hasattr(stage, "downsample"):
                h = stage.downsample(h)
        h = self.conv_out(F.silu(self.norm_out(self.mid(h))))
        return h[:, : self.z]  # the posterior mean (the first half of the moments)


class Decoder(nn.Module):
    def __init__(self, ch, ch_mult, blocks, z, out_ch):
        super().__init__()
        cin = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z, cin, 3, 1, 1)
        self.mid = Mid(cin)
        ups = []
        for level in reversed(range(len(ch_mult))):
            stage = nn.Module()
            stage.block = nn.ModuleList()
            for _ in range(blocks):
                stage.block.append(ResnetBlock(cin, ch * ch_mult[level]))
                cin = ch * ch_mult[level]
            if level != 0:
                stage.upsample = Up(cin)
            ups.insert(0, stage)
        self.up = nn.ModuleList(ups)
        self.norm_out = norm(cin)
        self.conv_out = nn.Conv2d(cin, out_ch, 3, 1, 1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for stage in reversed(self.up):
            for block in stage.block:
                h = block(h)
            if hasattr(stage, "upsample"):
                h = stage.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder = Encoder(c["ch"], c["ch_mult"], c["enc_blocks"], c["z"], c["in_ch"])
        self.decoder = Decoder(c["ch"], c["ch_mult"], c["dec_blocks"], c["z"], c["in_ch"])


def main():
    torch.set_grad_enabled(False)
    model = AutoEncoder(CONFIG).double()
    state = model.state_dict()
    seeded = {name: random_weight(name, list(t.shape), *weight_spec(name, list(t.shape))) for name, t in state.items()}
    image = torch.from_numpy(random_weight("input.image", IMAGE_SHAPE, 0.5)).double()
    latent = torch.from_numpy(random_weight("input.latent", LATENT_SHAPE, 1.0)).double()
    cases = []
    for dtype in DTYPES:
        model.load_state_dict({name: round_to(dtype, v).double() for name, v in seeded.items()})
        mean = model.encoder(image)
        decoded = model.decoder(latent)
        cases.append({"dtype": dtype, "part": "encoder", "shape": list(mean.shape), "output": f32_b64(mean)})
        cases.append({"dtype": dtype, "part": "decoder", "shape": list(decoded.shape), "output": f32_b64(decoded)})
        print(dtype, "encoder |mean| max", float(mean.abs().max()), "decoder |x| max", float(decoded.abs().max()))
    fixture = {
        "madeBy": "packages/runtime/scripts/flux-vae-reference.py (torch %s, float64)" % torch.__version__,
        "config": CONFIG,
        "imageShape": IMAGE_SHAPE,
        "latentShape": LATENT_SHAPE,
        "weights": {name: list(t.shape) for name, t in state.items()},
        "cases": cases,
    }
    out = os.path.join(os.path.dirname(__file__), "..", "src", "models", "architectures", "fixtures", "flux-vae-reference.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(out), len(state), "tensors")


if __name__ == "__main__":
    main()
