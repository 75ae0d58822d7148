#!/usr/bin/env python3
"""Writes ComfyUI's own outputs for the resampling nodes, for the TypeScript tests to compare against.

Dev tool only (tests read the committed JSON, never run Python). Usage, from the repository root:

    git --git-dir=/work/.mirror/Comfy-Org+ComfyUI/repo --work-tree=/tmp/comfy checkout HEAD -- '*.py' '*.json'
    /usr/bin/python3 scripts/comfyui/make-resample-fixtures.py /tmp/comfy <commit> \
        > packages/runtime/src/image/fixtures/comfyui-resample.json

Every expected value comes from calling ComfyUI's code at that commit (imported through comfy_import.py) on
seeded inputs, with Debian's python3-torch 1.13 and Pillow 9.4: `comfy.utils.common_upscale` for each
upscale_method (torch's interpolate, ComfyUI's bislerp, Pillow's LANCZOS) and the node functions LatentUpscale,
LatentUpscaleBy, ImageScaleToTotalPixels, ImageStitch and FluxKontextImageScale. Large outputs are stored as their
shape, sum and every n-th value.
"""
import json
import sys

import numpy
import torch

from comfy_import import import_comfyui

SAMPLE_STRIDE = 37


class Float32(float):
    """A float32 value written with the fewest digits that read back as the same float32."""

    def __repr__(self):
        return repr(numpy.float32(self))


class Encoder(json.JSONEncoder):
    def iterencode(self, o, _one_shot=False):
        return json.encoder._make_iterencode({}, self.default, json.encoder.py_encode_basestring, None,
                                             lambda v: repr(v), ':', ',', False, False, True)(o, 0)


def flat(t):
    return [Float32(v) for v in t.float().contiguous().reshape(-1).tolist()]


def summary(t, stride=SAMPLE_STRIDE):
    values = flat(t)
    return {'shape': list(t.shape), 'sum': float(t.double().sum()), 'stride': stride, 'sample': values[::stride]}


def pixels(t):
    """Outputs that are whole uint8 levels / 255 (Pillow's), stored as the levels."""
    levels = (t * 255).round()
    assert torch.equal(levels / 255, t), 'not uint8 levels'
    return {'shape': list(t.shape), 'levels': [int(v) for v in levels.reshape(-1).tolist()]}


def full(t):
    return {'shape': list(t.shape), 'values': flat(t)}


def main():
    comfy_dir, commit = sys.argv[1], sys.argv[2]
    import_comfyui(comfy_dir)
    import asyncio
    import os
    import comfy.utils
    import nodes
    for module in ('nodes_images', 'nodes_post_processing', 'nodes_flux'):
        assert asyncio.run(nodes.load_custom_node(os.path.join(comfy_dir, 'comfy_extras', module + '.py'), module_parent='comfy_extras'))
    node = nodes.NODE_CLASS_MAPPINGS
    torch.manual_seed(1234)
    out = {'comfyui_commit': commit, 'torch': torch.__version__, 'made_by': 'scripts/comfyui/make-resample-fixtures.py'}

    # Latents [B, C, H, W] (4 channels keep the file small; every method is per channel but bislerp, which
    # normalises across channels), with a zero vector and two opposite ones for bislerp's edge cases.
    latent = torch.randn(1, 4, 5, 7)
    latent[0, :, 0, 0] = 0
    latent[0, :, 2, 3] = -latent[0, :, 2, 4]
    out['latent'] = full(latent)
    cases = []
    for method in ('nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'):
        for (w, h, crop) in ((11, 9, 'disabled'), (3, 4, 'disabled'), (8, 8, 'center'), (7, 5, 'disabled'), (14, 3, 'center')):
            cases.append({'method': method, 'width': w, 'height': h, 'crop': crop,
                          'out': full(comfy.utils.common_upscale(latent, w, h, method, crop))})
    out['common_upscale_latent'] = cases

    # The latent nodes with their size rules (inputs in pixels, outputs in latents).
    small = {'samples': latent[:1, :, :5, :6].clone()}
    latent_nodes = []
    for (method, w, h, crop) in (('bislerp', 80, 0, 'disabled'), ('bilinear', 0, 72, 'center'), ('area', 40, 40, 'disabled'), ('bicubic', 100, 60, 'center')):
        result = node['LatentUpscale']().upscale(small, method, w, h, crop)[0]['samples']
        latent_nodes.append({'node': 'LatentUpscale', 'method': method, 'width': w, 'height': h, 'crop': crop, 'out': full(result)})
    for (method, scale) in (('nearest-exact', 1.5), ('bislerp', 2.0), ('bicubic', 0.7), ('area', 1.25)):
        result = node['LatentUpscaleBy']().upscale(small, method, scale)[0]['samples']
        latent_nodes.append({'node': 'LatentUpscaleBy', 'method': method, 'scale_by': scale, 'out': full(result)})
    out['latent_nodes'] = latent_nodes
    out['latent_node_input'] = full(small['samples'])

    # Images [B, H, W, C] as LoadImage makes them (uint8 / 255), RGB and RGBA; lanczos goes through Pillow.
    rgb = (torch.randint(0, 256, (1, 9, 13, 3)).float() / 255)
    rgba = (torch.randint(0, 256, (1, 9, 13, 4)).float() / 255)
    rgba[0, 0, :, 3] = 0
    rgba[0, 1, :, 3] = 1
    out['rgb'] = full(rgb)
    out['rgba'] = full(rgba)
    lanczos = []
    for name, image in (('rgb', rgb), ('rgba', rgba)):
        for (w, h) in ((29, 20), (5, 4), (13, 3), (31, 9), (2, 17)):
            result = comfy.utils.common_upscale(image.movedim(-1, 1), w, h, 'lanczos', 'disabled').movedim(1, -1)
            lanczos.append({'image': name, 'width': w, 'height': h, 'out': pixels(result)})
    out['lanczos'] = lanczos

    to_total = []
    for method in ('nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'):
        for megapixels in (0.01, 0.02):
            result = node['ImageScaleToTotalPixels'].execute(rgb, method, megapixels).args[0]
            to_total.append({'method': method, 'megapixels': megapixels, 'out': summary(result, 97)})
    out['image_scale_to_total_pixels'] = to_total

    # ImageStitch: image2 of another size, batch and channel count.
    second = (torch.randint(0, 256, (2, 6, 5, 3)).float() / 255)
    out['stitch_second'] = full(second)
    stitch = []
    for direction in ('right', 'down', 'left', 'up'):
        for match in (True, False):
            for spacing, color in ((0, 'white'), (3, 'red'), (4, 'black')):
                for first_name, first in (('rgb', rgb), ('rgba', rgba)):
                    result = node['ImageStitch']().stitch(first, direction, match, spacing, color, second)[0]
                    stitch.append({'image1': first_name, 'direction': direction, 'match_image_size': match,
                                   'spacing_width': spacing, 'spacing_color': color, 'out': summary(result)})
    out['image_stitch'] = stitch

    kontext = []
    for (w, h) in ((13, 9), (9, 13), (20, 20), (40, 9)):
        image = torch.rand(1, h, w, 3)
        image = (image * 255).floor() / 255
        result = node['FluxKontextImageScale'].execute(image).args[0]
        kontext.append({'input': full(image), 'out': summary(result, 4999)})
    out['flux_kontext_image_scale'] = kontext

    sys.stdout.write(''.join(Encoder().iterencode(out)))
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
