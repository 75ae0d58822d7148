#!/usr/bin/python3
"""DEV-ONLY: an independent PyTorch implementation of USO's inference procedure (bytedance/USO's
USOPipeline.forward / sampling.denoise, written from its published description: shared/reference/uso-model.md and the
facts read from bytedance/USO's pipeline.py, sampling.py, model.py and modules/layers.py), for the parity test of our
USOSampler path (nodes/uso/src/uso-reference-parity.test.ts).

What it does, per case, all in float32 from the stored weights decoded exactly to float32:
  * noise: torch.randn([1, 16, 2*ceil(H/16), 2*ceil(W/16)]) from a CPU torch.Generator seeded with the seed (USO draws
    it in bf16 on the GPU; the CPU float32 stream is the one ComfyUI's prepare_noise and our torchRandn use);
  * schedule: t = linspace(1, 0, steps + 1) shifted by exp(mu) / (exp(mu) + (1/t - 1)), mu on the line through
    (256, 0.5) and (4096, 1.15) at L = (W // 8) * (H // 8) // 256 (integer divisions, as USO's pipeline does);
  * subject references: VAE encoder mean (USO samples the posterior; the mean is used, as ComfyUI does), then
    z = 0.3611 * (mean - 0.1159), packed to 2x2 tokens, ids (0, i + Hs, j + Ws) with "d" placement offsets that start at
    the target's token grid and grow by each reference's grid;
  * style references: SigLIP pixels = (round(255 x) / 255 - 0.5) / 0.5 at the vision size, hidden states after layers
    L-1, L-10, L-19 (hidden_states[-2], [-11], [-20]) through USO's SigLIPMultiFeatProjModel (high, mid, low), the
    tokens of the style images concatenated in order and put before the T5 tokens with zero ids;
  * the USO LoRA as USO's attention processors apply it: out = linear(x) + up(down(x)) * lora_weight (weight 1.0,
    network_alpha None), on img/txt qkv and proj of the double blocks, and on the qkv part of linear1 and on linear2 of
    the single blocks;
  * Euler without CFG: x = x + (t_prev - t_curr) * DiT(x, t_curr, guidance), guidance a model input;
  * output: what USO's denoise returns, unpacked to [1, 16, h, w]: the latent in the model's space (USO's ae.decode
    then feeds x / 0.3611 + 0.1159 to its decoder).

Run: /usr/bin/python3 nodes/uso/scripts/uso_reference.py MODELS_DIR INPUTS.safetensors OUT.safetensors
(called by nodes/uso/scripts/make-uso-reference-fixture.ts; Debian python3-torch 1.13).
"""
import importlib.util
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_SCRIPTS = os.path.join(HERE, '..', '..', '..', 'packages', 'runtime', 'scripts')
sys.path.insert(0, RUNTIME_SCRIPTS)
import flux_dit_reference as dit  # noqa: E402  the project's torch FLUX DiT
import siglip_torch  # noqa: E402  the project's torch SigLIP and USO projector

_vae_spec = importlib.util.spec_from_file_location('flux_vae_reference', os.path.join(RUNTIME_SCRIPTS, 'flux-vae-reference.py'))
vae_ref = importlib.util.module_from_spec(_vae_spec)
_vae_spec.loader.exec_module(vae_ref)

VAE_SCALE, VAE_SHIFT = 0.3611, 0.1159
SIGLIP_HEADS = 4
TINY_FILES = {  # the tiny set's files (packages/runtime/src/models/tiny/generate.ts TINY_FILES)
    'dit': 'diffusion_models/uso-tiny-flux1-dev.safetensors', 'lora': 'loras/uso-tiny-flux1-dit-lora-v1.safetensors',
    'vae': 'vae/uso-tiny-ae.safetensors', 'vision': 'clip_vision/uso-tiny-sigclip_vision_patch14.safetensors',
    'projector': 'model_patches/uso-tiny-flux1-projector-v1.safetensors',
}  # the tiny SigLIP file's num_attention_heads (its metadata says so too)


class UsoLoraWeights(dit.Weights):
    """The DiT's linears with USO's LoRA processors added to their outputs (not merged into the weights)."""

    def __init__(self, tensors, lora, lora_weight=1.0):
        super().__init__(tensors)
        self.patches = {}  # linear name -> list of (down, up, first output column)
        for key in lora:
            if not key.endswith('.down.weight'):
                continue
            base = key[:-len('.down.weight')]
            block, proc = base.split('.processor.')
            target = {
                'qkv_lora1': 'img_attn.qkv', 'proj_lora1': 'img_attn.proj',
                'qkv_lora2': 'txt_attn.qkv', 'proj_lora2': 'txt_attn.proj',
                'qkv_lora': 'linear1', 'proj_lora': 'linear2',
            }[proc]
            self.patches[f'{block}.{target}'] = (lora[key], lora[f'{base}.up.weight'] * lora_weight)

    def linear(self, x, name):
        out = x @ self.t[f'{name}.weight'].T + self.t[f'{name}.bias']
        if name in self.patches:
            down, up = self.patches[name]
            extra = (x @ down.T) @ up.T  # [B, L, rows]; linear1's LoRA covers only its qkv columns
            out = torch.cat([out[..., :extra.shape[-1]] + extra, out[..., extra.shape[-1]:]], dim=-1)
        return out


def schedule(steps, width, height):
    seq = (width // 8) * (height // 8) // (16 * 16)
    m = (1.15 - 0.5) / (4096 - 256)
    mu = 0.5 + m * (seq - 256)
    t = torch.linspace(1, 0, steps + 1)
    shifted = [math.exp(mu) / (math.exp(mu) + (1 / float(v) - 1)) if float(v) > 0 else 0.0 for v in t]
    return shifted


def pack(z):
    """[B, 16, h, w] -> [B, (h/2)(w/2), 64], channel-major inside a token."""
    b, c, h, w = z.shape
    return z.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, (h // 2) * (w // 2), c * 4)


def unpack(x, h, w):
    b = x.shape[0]
    return x.reshape(b, h // 2, w // 2, 16, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, 16, h, w)


def grid_ids(h2, w2, dh, dw):
    ids = torch.zeros(h2, w2, 3)
    ids[..., 1] = torch.arange(h2)[:, None] + dh
    ids[..., 2] = torch.arange(w2)[None, :] + dw
    return ids.reshape(1, h2 * w2, 3)


def style_tokens(siglip, projector, pixels):
    x = (torch.round(255 * pixels) / 255 - 0.5) / 0.5
    _, states = siglip_torch.siglip_vision(siglip, x, SIGLIP_HEADS)
    n = len(states)
    # hidden_states has n + 1 entries (embeddings first): [-2] = after layer n-1 = states[n-2], and so on.
    return siglip_torch.uso_projector(projector, low=states[n - 20], mid=states[n - 11], high=states[n - 2])


def run_case(models, inp):
    seed, width, height, steps, guidance = [float(v) for v in inp['settings']]
    width, height, steps = int(width), int(height), int(steps)
    h, w = 2 * math.ceil(height / 16), 2 * math.ceil(width / 16)
    noise = torch.randn(1, 16, h, w, generator=torch.Generator().manual_seed(int(seed)), dtype=torch.float32)
    refs, ref_ids = [], []
    shift_h, shift_w = h // 2, w // 2
    for key in sorted(k for k in inp if k.startswith('subject')):
        mean = models['encoder'](inp[key] * 2 - 1)  # [1, 16, rh, rw]
        z = VAE_SCALE * (mean - VAE_SHIFT)
        rh, rw = z.shape[2], z.shape[3]
        refs.append(pack(z))
        ref_ids.append(grid_ids(rh // 2, rw // 2, shift_h, shift_w))
        shift_h += rh // 2
        shift_w += rw // 2
    styles = [style_tokens(models['siglip'], models['projector'], inp[k]) for k in sorted(k for k in inp if k.startswith('style'))]
    hidden = models['dit'].t['img_in.weight'].shape[0]
    base = {
        'txt': inp['txt'], 'y': inp['vec'],
        'txt_ids': torch.zeros(1, inp['txt'].shape[1], 3),
        'img_ids': grid_ids(h // 2, w // 2, 0, 0),
        'ref_img': torch.cat(refs, dim=1) if refs else torch.zeros(1, 0, 64),
        'ref_img_ids': torch.cat(ref_ids, dim=1) if ref_ids else torch.zeros(1, 0, 3),
        'style': torch.cat(styles, dim=1) if styles else torch.zeros(1, 0, hidden),
        'guidance': torch.full((1,), guidance),
    }
    x = pack(noise)
    ts = schedule(steps, width, height)
    for t_curr, t_prev in zip(ts[:-1], ts[1:]):
        pred = dit.flux_forward(models['dit'], {**base, 'img': x, 'timesteps': torch.full((1,), t_curr)})
        x = x + (t_prev - t_curr) * pred
    return unpack(x, h, w)


def load_models(models_dir, files):
    read = lambda rel: dit.read_safetensors(os.path.join(models_dir, rel))
    vae = read(files['vae'])
    enc_keys = {k[len('encoder.'):]: v for k, v in vae.items() if k.startswith('encoder.')}
    blocks = len({k.split('.')[3] for k in enc_keys if k.startswith('down.0.block.')})
    levels = len({k.split('.')[1] for k in enc_keys if k.startswith('down.')})
    ch = enc_keys['conv_in.weight'].shape[0]
    mult = [enc_keys[f'down.{i}.block.{blocks - 1}.conv2.weight'].shape[0] // ch for i in range(levels)]
    encoder = vae_ref.Encoder(ch, mult, blocks, 16, 3)
    encoder.load_state_dict(enc_keys)
    return {
        'dit': UsoLoraWeights(read(files['dit']), read(files['lora'])),
        'encoder': encoder,
        'siglip': read(files['vision']),
        'projector': read(files['projector']),
    }


def main():
    torch.set_grad_enabled(False)
    models_dir, inputs_path, out_path = sys.argv[1:4]
    inputs = dit.read_safetensors(inputs_path)
    models = load_models(models_dir, TINY_FILES)
    out = {}
    for case in sorted({k.split('/')[0] for k in inputs}):
        inp = {k.split('/', 1)[1]: v for k, v in inputs.items() if k.startswith(case + '/')}
        out[f'{case}/latent'] = run_case(models, inp)
        print(case, 'latent |x| max', float(out[f'{case}/latent'].abs().max()))
    dit.write_safetensors(out_path, out)


if __name__ == '__main__':
    main()
