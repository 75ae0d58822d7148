"""DEV-ONLY: an independent PyTorch implementation of the SigLIP vision tower and USO's style projector, written from
the published architecture (Hugging Face's SigLIP vision transformer: patch conv with bias, learned position
embeddings, pre-norm layers with LayerNorm eps 1e-6, separate q/k/v/out projections, tanh-GELU MLP, post-layernorm, no
class token; USO's SigLIPMultiFeatProjModel). Computes in the dtype of the tensors it is given. Used by
make-siglip-fixtures.py (float64 references) and siglip-torch-bench.py (the benchmark's float32 baseline).
"""
import math

import torch


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def siglip_vision(w, pixels, heads, eps=1e-6):
    """Returns (post-layernormed last state, [hidden state after each layer])."""
    pre = 'vision_model.'
    patch_w = w[pre + 'embeddings.patch_embedding.weight']
    patch = patch_w.shape[2]
    x = torch.nn.functional.conv2d(pixels, patch_w, w[pre + 'embeddings.patch_embedding.bias'], stride=patch)
    b, width, gh, gw = x.shape
    x = x.reshape(b, width, gh * gw).transpose(1, 2)  # [B, T, W]
    x = x + w[pre + 'embeddings.position_embedding.weight']
    head_dim = width // heads
    layers = 0
    while f'{pre}encoder.layers.{layers}.layer_norm1.weight' in w:
        layers += 1
    states = []
    for i in range(layers):
        p = f'{pre}encoder.layers.{i}.'
        lin = lambda t, name: t @ w[p + name + '.weight'].T + w[p + name + '.bias']
        h = layer_norm(x, w[p + 'layer_norm1.weight'], w[p + 'layer_norm1.bias'], eps)
        split = lambda t: t.reshape(b, -1, heads, head_dim).transpose(1, 2)  # [B, H, T, D]
        q, k, v = split(lin(h, 'self_attn.q_proj')), split(lin(h, 'self_attn.k_proj')), split(lin(h, 'self_attn.v_proj'))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        attn = torch.softmax(scores, dim=-1) @ v  # [B, H, T, D]
        attn = attn.transpose(1, 2).reshape(b, -1, width)
        x = x + lin(attn, 'self_attn.out_proj')
        h = layer_norm(x, w[p + 'layer_norm2.weight'], w[p + 'layer_norm2.bias'], eps)
        x = x + lin(gelu_tanh(lin(h, 'mlp.fc1')), 'mlp.fc2')
        states.append(x)
    last = layer_norm(x, w[pre + 'post_layernorm.weight'], w[pre + 'post_layernorm.bias'], eps)
    return last, states


def uso_projector(w, low, mid, high):
    """USO's SigLIPMultiFeatProjModel: per branch Linear over tokens, SiLU, LayerNorm (eps 1e-5), Linear; cat(high, mid, low)."""
    outs = []
    for name, feat in (('high', high), ('mid', mid), ('low', low)):
        p = f'feature_embedder.{name}'
        t = feat.transpose(1, 2) @ w[p + '_embedding_linear.0.weight'].T + w[p + '_embedding_linear.0.bias']  # [B, W, S]
        t = torch.nn.functional.silu(t).transpose(1, 2)  # [B, S, W]
        t = layer_norm(t, w[p + '_layer_norm.weight'], w[p + '_layer_norm.bias'], 1e-5)
        outs.append(t @ w[p + '_projection.weight'].T + w[p + '_projection.bias'])
    return torch.cat(outs, dim=1)
