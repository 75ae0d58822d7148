#!/usr/bin/env python3
"""DEV-ONLY, second half of the full-size check (first half: text-encoders-full-size-check.ts, which wrote
{t5,clip}.onnx and {t5,clip}-header.bin into $CHECK_DIR, default this script's folder): our T5 encoder (t5-v1_1-xxl width, 2 of 24 layers)
and CLIP-L text graphs against Hugging Face transformers' T5EncoderModel and CLIPTextModel with the same random
weights. Fills {t5,clip}.safetensors (the published names, in our header's order) from each model's state dict, runs
our graphs with onnxruntime's CPU provider and the models with torch (CUDA when present, TF32 off), and compares
last_hidden_state (T5, 2 x 256 tokens) and the pooled output (CLIP, 2 x 77 tokens). Writes results.json to $OUT.

Needs: transformers, torch, onnxruntime, numpy (the device machine's image has them).
Run: node --import tsx packages/runtime/scripts/text-encoders-full-size-check.ts DIR, copy DIR where transformers is,
then CHECK_DIR=DIR python3 text-encoders-full-size-check.py
Last run (2026-12-04, H200 machine, transformers 5.17.0, torch 2.11 on CUDA with TF32 off, onnxruntime 1.30 CPU;
transformers' random init re-scaled): every HF tensor name matched our published layouts; T5 last_hidden_state
[2, 256, 4096] max abs 2.7e-5 (values up to 5.5, relative L2 4.6e-6); CLIP-L pooled [2, 768] max abs 6.7e-6 (values up
to 3.3, relative L2 1.5e-6).
"""
import json, os, struct, time
import numpy as np
import torch
import onnxruntime as ort
from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

here = os.environ.get('CHECK_DIR', os.path.dirname(os.path.abspath(__file__)))
out_dir = os.environ.get('OUT', here)
res = {'ort_version': ort.__version__, 'torch': torch.__version__}
try:
    import transformers
    res['transformers'] = transformers.__version__
except Exception:
    pass
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = 'cuda' if torch.cuda.is_available() else 'cpu'


def fill(name, state):
    raw = open(os.path.join(here, f'{name}-header.bin'), 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n]); header.pop('__metadata__', None)
    data_start = 8 + n
    res[f'{name}_names_in_header_not_in_hf'] = [k for k in header if k not in state]
    res[f'{name}_hf_names_not_in_header'] = [k for k in state if k not in header]
    with open(os.path.join(here, f'{name}.safetensors'), 'wb') as f:
        f.write(raw)
        for key, info in header.items():
            t = state[key]
            assert list(t.shape) == info['shape'], (key, t.shape, info['shape'])
            f.seek(data_start + info['data_offsets'][0])
            f.write(t.numpy().astype('<f4').tobytes())
        f.truncate(data_start + max(i['data_offsets'][1] for i in header.values()))


def ours(name, feeds):
    so = ort.SessionOptions(); so.intra_op_num_threads = 16
    sess = ort.InferenceSession(os.path.join(here, f'{name}.onnx'), so, providers=['CPUExecutionProvider'])
    t = time.time(); out = sess.run(None, feeds)[0]; res[f'{name}_ort_cpu_s'] = time.time() - t
    return out


def compare(key, o, r):
    res[key] = {'shape': list(o.shape), 'max_abs': float(np.abs(o - r).max()), 'max_abs_ref': float(np.abs(r).max()),
                'rel_l2': float(np.linalg.norm(o - r) / np.linalg.norm(r))}


# ---------------------------------------------------------------- T5
torch.manual_seed(0)
cfg = T5Config(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=2, num_heads=64,
               relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj='gated-gelu',
               layer_norm_epsilon=1e-6, dropout_rate=0.0)
model = T5EncoderModel(cfg).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'layer_norm' in name:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif 'relative_attention_bias' in name:
            p.copy_(torch.randn_like(p) * 0.5)
        elif 'shared' in name or 'embed_tokens' in name:
            p.copy_(torch.randn_like(p))
        elif name.endswith(('.q.weight', '.k.weight')):
            p.copy_(torch.randn_like(p) * 0.01)
        else:
            p.copy_(torch.randn_like(p) * 0.02)
state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
state.pop('encoder.embed_tokens.weight', None)  # tied to shared.weight; our header has shared only
fill('t5', state)
rng = np.random.default_rng(0)
ids = rng.integers(0, 32100, size=(2, 256)).astype(np.int64)
ids[1, 100] = 1; ids[1, 101:] = 0  # a padded row, as ComfyUI feeds it
mine = ours('t5', {'input_ids': ids})
model = model.to(dev)
with torch.no_grad():
    ref = model(input_ids=torch.from_numpy(ids).to(dev)).last_hidden_state.float().cpu().numpy()
compare('t5_last_hidden_state', mine, ref)
print(json.dumps(res), flush=True)
del model

# ---------------------------------------------------------------- CLIP-L
torch.manual_seed(1)
ccfg = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                      num_attention_heads=12, max_position_embeddings=77, hidden_act='quick_gelu', layer_norm_eps=1e-5,
                      bos_token_id=49406, eos_token_id=49407, pad_token_id=1)
model = CLIPTextModel(ccfg).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'layer_norm' in name and name.endswith('weight'):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif 'embedding' in name:
            p.copy_(torch.randn_like(p) * 0.3)
        else:
            p.copy_(torch.randn_like(p) * 0.03)
state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
if not any(k.startswith('text_model.') for k in state):  # some transformers versions drop the wrapper's prefix
    state = {'text_model.' + k: v for k, v in state.items()}
state.pop('text_model.embeddings.position_ids', None)  # a buffer; our header leaves it out
fill('clip', state)
cids = np.full((2, 77), 49407, dtype=np.int64)
cids[:, 0] = 49406
cids[0, 1:9] = rng.integers(0, 49405, size=8)
cids[1, 1:76] = rng.integers(0, 49405, size=75)
mine = ours('clip', {'input_ids': cids})
model = model.to(dev)
with torch.no_grad():
    ref = model(input_ids=torch.from_numpy(cids).to(dev)).pooler_output.float().cpu().numpy()
compare('clip_pooled', mine, ref)
json.dump(res, open(os.path.join(out_dir, 'results.json'), 'w'), indent=1)
print(json.dumps(res, indent=1))
