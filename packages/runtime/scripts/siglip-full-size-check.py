#!/usr/bin/env python3
"""DEV-ONLY, second half of the full-size check (first half: siglip-full-size-check.ts, which wrote siglip.onnx and
header.bin into this script's folder): our SigLIP so400m ONNX graph against Hugging Face transformers'
SiglipVisionModel with the same random weights, at full size (so400m config, 27 layers, 384 pixels, batch 2).
Fills s.safetensors (the published names, in our header's order) from the model's state dict, runs our graph with
onnxruntime's CPU provider and the model with torch (CUDA when present, TF32 off), and compares last_hidden_state, the
states after layers 8, 17, 26 and the penultimate state. Writes results.json to $OUT (default: this folder).

Needs: transformers, torch, onnxruntime, numpy (the device machine's image has them; Debian's torch 1.13 here has no
transformers). Run: copy this script next to siglip.onnx and header.bin, then python3 siglip-full-size-check.py
Last run (2026-12-04, H200 machine, transformers' random init re-scaled): last_hidden_state max abs 1.3e-5 (values up
to 5.0, relative L2 2.2e-6); hidden states max abs 8.7e-5 (values up to 39, relative L2 2.1e-6); every HF tensor name
matched the published layout.
"""
import json, os, struct, sys, time
import numpy as np
import torch
from transformers import SiglipVisionConfig, SiglipVisionModel
import onnxruntime as ort

here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.environ.get('OUT', here)
res = {'ort_version': ort.__version__, 'providers': ort.get_available_providers(), 'torch': torch.__version__}
cfg = SiglipVisionConfig(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                         image_size=384, patch_size=14, hidden_act='gelu_pytorch_tanh', layer_norm_eps=1e-6)
torch.manual_seed(0)
model = SiglipVisionModel(cfg).eval()
with torch.no_grad():  # HF's default init is tiny for some tensors; make every weight clearly non-trivial
    for name, p in model.named_parameters():
        if 'norm' in name and name.endswith('weight'):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(torch.randn_like(p) * (0.5 if 'position' in name else 0.03))
state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
res['hf_key_sample'] = list(state)[:3]
if not any(k.startswith('vision_model.') for k in state):  # some transformers versions drop the wrapper's prefix
    state = {'vision_model.' + k: v for k, v in state.items()}
raw = open(os.path.join(here, 'header.bin'), 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n]); header.pop('__metadata__', None)
data_start = 8 + n
missing = [k for k in header if k not in state]
extra = [k for k in state if k not in header]
res['names_in_header_not_in_hf'] = missing
res['hf_names_not_in_header'] = extra
path = os.path.join(here, 's.safetensors')
with open(path, 'wb') as f:
    f.write(raw)
    for name, info in header.items():
        t = state[name]
        assert list(t.shape) == info['shape'], (name, t.shape, info['shape'])
        f.seek(data_start + info['data_offsets'][0])
        f.write(t.numpy().astype('<f4').tobytes())
    f.truncate(data_start + max(i['data_offsets'][1] for i in header.values()))
rng = np.random.default_rng(0)
px = (rng.random((2, 3, 384, 384), dtype=np.float32) * 2 - 1).astype(np.float32)
so = ort.SessionOptions(); so.intra_op_num_threads = 16
t = time.time(); sess = ort.InferenceSession(os.path.join(here, 'siglip.onnx'), so, providers=['CPUExecutionProvider']); res['ort_session_s'] = time.time() - t
sess.run(None, {'pixel_values': px[:1]})
t = time.time(); ours = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {'pixel_values': px}))); res['ort_cpu16_forward_b2_s'] = time.time() - t
torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
model = model.to(dev)
with torch.no_grad():
    x = torch.from_numpy(px).to(dev)
    model(pixel_values=x)
    if dev == 'cuda': torch.cuda.synchronize()
    t = time.time(); hf = model(pixel_values=x, output_hidden_states=True)
    if dev == 'cuda': torch.cuda.synchronize()
    res['hf_forward_b2_s_' + dev] = time.time() - t
hs = hf.hidden_states  # 28 entries: embeddings, then after each layer
ref = {
    'last_hidden_state': hf.last_hidden_state,
    'hidden_states': torch.stack([hs[8], hs[17], hs[26]], dim=1),
    'penultimate_hidden_states': hs[26],
}
for k, v in ref.items():
    r = v.float().cpu().numpy(); o = ours[k]
    res[k] = {'shape': list(o.shape), 'max_abs': float(np.abs(o - r).max()), 'max_abs_ref': float(np.abs(r).max()),
              'rel_l2': float(np.linalg.norm(o - r) / np.linalg.norm(r))}
# pooled head output exists in HF; ComfyUI (and we) do not run it: recorded only to show what is not used
res['hf_pooler_shape'] = list(hf.pooler_output.shape)
json.dump(res, open(os.path.join(out_dir, 'results.json'), 'w'), indent=1)
print(json.dumps(res, indent=1))
