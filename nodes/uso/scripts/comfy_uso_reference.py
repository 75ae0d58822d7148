#!/usr/bin/python3
"""DEV-ONLY: an independent PyTorch implementation of ComfyUI's arithmetic for its USO graph (KSampler euler/simple,
cfg 1, FluxGuidance, ReferenceLatent + FluxKontextMultiReferenceLatentMethod "uxo", USOStyleReference, EasyCache,
LoraLoaderModelOnly), written from the facts in shared/reference/comfyui-sampling.md and ComfyUI's
comfy_extras/nodes_easycache.py, for nodes/uso/src/comfy-uso-parity.test.ts. ComfyUI on a CPU runs the DiT in
float32: the BF16 weights are decoded to float32 and the LoRA is merged in float32 (W[rows] += 1.0 * up @ down; no
alpha key, so scale 1), which is what this does.

Per case:
  * noise torch.randn(latent shape) after manual_seed(seed); the empty latent is all zeros, so no process_in and
    x = sigma_0 * noise + (1 - sigma_0) * 0;
  * sigmas: ModelSamplingFlux's 10000-entry float32 table shift(1.15, (i + 1) / 10000), the simple scheduler
    table[-(1 + int(k * 10000 / steps))] for k < steps, then 0;
  * euler: denoised = x - v * s, d = (x - denoised) / s, x = x + d * (s_next - s); the output is x / (1 - 0), then
    process_out (x / 0.3611 + 0.1159), the VAE-space LATENT ComfyUI hands VAEDecode;
  * the DiT: guidance 3.5 (FluxGuidance), style tokens [last applied .. first applied, T5], references process_in'd with
    "uxo" ids (index 0, offsets target + previous refs, in latent units halved by (off + 1) // 2);
  * EasyCache around the diffusion model forward (x in, velocity out), state as nodes_easycache.py keeps it.

Run: /usr/bin/python3 nodes/uso/scripts/comfy_uso_reference.py MODELS_DIR INPUTS.safetensors OUT.safetensors
(called by nodes/uso/scripts/make-uso-reference-fixture.ts).
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uso_reference as uso  # noqa: E402  the pack/unpack/ids/style helpers and the torch modules it loads

SHIFT = 1.15


def flux_shift(t):
    return math.exp(SHIFT) / (math.exp(SHIFT) + (1 / t - 1) ** 1.0)


def simple_sigmas(steps):
    table = flux_shift(torch.arange(1, 10001, 1) / 10000)  # float32 tensor ops, as ModelSamplingFlux builds it
    ss = len(table) / steps
    sigmas = [float(table[-(1 + int(k * ss))]) for k in range(steps)]
    return sigmas + [0.0]


def percent_to_sigma(p):
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    return flux_shift(1.0 - p)


class EasyCache:
    def __init__(self, threshold, start_percent, end_percent, subsample=8):
        self.threshold, self.sub = threshold, subsample
        self.start_t, self.end_t = percent_to_sigma(start_percent), percent_to_sigma(end_percent)
        self.rate = None
        self.cumulative = 0.0
        self.x_prev = self.out_prev = self.out_norm = self.diff = None
        self.skipped = 0

    def __call__(self, run, x, sigma):
        if not sigma > self.end_t:
            return run(x)
        input_change = None
        if sigma <= self.start_t:
            if self.x_prev is not None:
                input_change = (x[..., ::self.sub, ::self.sub] - self.x_prev).flatten().abs().mean()
            if self.out_norm is not None and self.rate is not None:
                self.cumulative += self.rate * input_change / self.out_norm
                if self.cumulative < self.threshold and self.diff is not None:
                    self.skipped += 1
                    return x + self.diff
                self.cumulative = 0.0
        out = run(x)
        if self.out_norm is not None and input_change is not None:
            self.rate = (out[..., ::self.sub, ::self.sub] - self.out_prev).flatten().abs().mean() / input_change
        self.diff = out - x
        self.x_prev = x[..., ::self.sub, ::self.sub].clone()
        self.out_prev = out[..., ::self.sub, ::self.sub].clone()
        self.out_norm = out.flatten().abs().mean()
        return out


def uxo_ids(h, w, refs):
    """ComfyUI's Flux ids for reference latents [1, 16, rh, rw] with method uxo: offsets in latent units."""
    ids, dh, dw = [], 0, 0
    h_len, w_len = (h + 1) // 2, (w + 1) // 2
    for ref in refs:
        rh, rw = ref.shape[2], ref.shape[3]
        h_off, w_off = h_len * 2 + dh, w_len * 2 + dw
        dh, dw = dh + rh, dw + rw
        ids.append(uso.grid_ids((rh + 1) // 2, (rw + 1) // 2, (h_off + 1) // 2, (w_off + 1) // 2))
    return torch.cat(ids, dim=1) if ids else torch.zeros(1, 0, 3)


def run_case(models, weights, inp):
    seed, width, height, steps, guidance, threshold, start, end = [float(v) for v in inp['settings']]
    width, height, steps = int(width), int(height), int(steps)
    h, w = height // 8, width // 8
    torch.manual_seed(int(seed))
    x = torch.randn(1, 16, h, w, dtype=torch.float32)
    refs = []
    for key in sorted(k for k in inp if k.startswith('subject')):
        mean = models['encoder'](inp[key] * 2 - 1)
        refs.append(uso.VAE_SCALE * (mean - uso.VAE_SHIFT))
    style_keys = sorted(k for k in inp if k.startswith('style'))
    # Each USOStyleReference prepends its tokens; the inputs are listed in the order the nodes are applied.
    styles = [uso.style_tokens(models['siglip'], models['projector'], inp[k]) for k in reversed(style_keys)]
    hidden = weights.t['img_in.weight'].shape[0]
    base = {
        'txt': inp['txt'], 'y': inp['vec'], 'txt_ids': torch.zeros(1, inp['txt'].shape[1], 3),
        'img_ids': uso.grid_ids(h // 2, w // 2, 0, 0),
        'ref_img': torch.cat([uso.pack(r) for r in refs], dim=1) if refs else torch.zeros(1, 0, 64),
        'ref_img_ids': uxo_ids(h, w, refs),
        'style': torch.cat(styles, dim=1) if styles else torch.zeros(1, 0, hidden),
        'guidance': torch.full((1,), guidance),
    }
    sigmas = simple_sigmas(steps)
    cache = EasyCache(threshold, start, end) if threshold >= 0 else None
    for s, s_next in zip(sigmas[:-1], sigmas[1:]):
        def velocity(latent, s=s):
            return uso.unpack(uso.dit.flux_forward(weights, {**base, 'img': uso.pack(latent), 'timesteps': torch.full((1,), s)}), h, w)
        v = cache(velocity, x, s) if cache else velocity(x)
        denoised = x - v * s
        d = (x - denoised) / s
        x = x + d * (s_next - s)
    return x / uso.VAE_SCALE + uso.VAE_SHIFT, (cache.skipped if cache else 0)


def main():
    torch.set_grad_enabled(False)
    models_dir, inputs_path, out_path = sys.argv[1:4]
    inputs = uso.dit.read_safetensors(inputs_path)
    models = uso.load_models(models_dir, uso.TINY_FILES)
    lora = uso.dit.read_safetensors(os.path.join(models_dir, uso.TINY_FILES['lora']))
    patches = {}
    for target, (down, up) in uso.UsoLoraWeights(models['dit'].t, lora).patches.items():
        patches[f'{target}.weight'] = [(up, down, 1.0, 0)]  # linear1's qkv rows start at 0
    weights = uso.dit.Weights(models['dit'].t, patches)
    out = {}
    for case in sorted({k.split('/')[0] for k in inputs}):
        inp = {k.split('/', 1)[1]: v for k, v in inputs.items() if k.startswith(case + '/')}
        latent, skipped = run_case(models, weights, inp)
        out[f'{case}/latent'] = latent
        out[f'{case}/easycache_skipped'] = torch.tensor([float(skipped)])
        print(case, 'latent |x| max', float(latent.abs().max()), 'EasyCache skipped', skipped)
    uso.dit.write_safetensors(out_path, out)


if __name__ == '__main__':
    main()
