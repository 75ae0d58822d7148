/**
 * ComfyUI's small image nodes people wire by hand: ImageInvert and ImageBatch (nodes.py), ImageCrop
 * (comfy_extras/nodes_images.py). Same names, inputs, defaults and arithmetic.
 */

import { Tensor } from '@uso-studio/runtime';
import { defineNode } from '@uso-studio/core';
import { MAX_RESOLUTION, upscaleImage } from './image-scale.ts';
import { catBatch, expectImage } from './tensor-io.ts';

export const imageInvert = defineNode({
  name: 'ImageInvert',
  displayName: 'Invert Image',
  category: 'image',
  pack: 'nodes',
  inputs: { required: { image: { type: 'IMAGE' } } },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  execute(inputs) {
    const image = expectImage(inputs['image'], 'image');
    const out = new Float32Array(image.data.length);
    for (let i = 0; i < out.length; i++) out[i] = 1 - image.data[i]!;
    return { outputs: [Tensor.float32([...image.shape], out)] };
  },
});

/** ImageBatch: image2 is resized (bilinear, centre crop) to image1's size when they differ, then the batches join. */
export const imageBatch = defineNode({
  name: 'ImageBatch',
  displayName: 'Batch Images',
  category: 'image',
  pack: 'nodes',
  inputs: { required: { image1: { type: 'IMAGE' }, image2: { type: 'IMAGE' } } },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  async execute(inputs) {
    const image1 = expectImage(inputs['image1'], 'image1');
    let image2 = expectImage(inputs['image2'], 'image2');
    const [, h, w, c] = image1.shape as [number, number, number, number];
    if (image2.shape[1] !== h || image2.shape[2] !== w || image2.shape[3] !== c) {
      if (image2.shape[3] !== c) throw new RangeError(`image2 has ${image2.shape[3]} channels but image1 has ${c}`);
      image2 = await upscaleImage(image2, w, h, 'bilinear', 'center');
    }
    return { outputs: [catBatch([image1, image2])] };
  },
});

/** ImageCrop: x and y are clamped to the last column/row; the crop ends at the image's edge. */
export const imageCrop = defineNode({
  name: 'ImageCrop',
  displayName: 'Image Crop',
  category: 'image/transform',
  pack: 'comfy_extras.nodes_images',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      width: { type: 'INT', default: 512, min: 1, max: MAX_RESOLUTION, step: 1 },
      height: { type: 'INT', default: 512, min: 1, max: MAX_RESOLUTION, step: 1 },
      x: { type: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 1 },
      y: { type: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 1 },
    },
  },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  execute(inputs) {
    const image = expectImage(inputs['image'], 'image');
    const [b, h, w, c] = image.shape as [number, number, number, number];
    const x = Math.min(Number(inputs['x']), w - 1);
    const y = Math.min(Number(inputs['y']), h - 1);
    const toX = Math.min(w, x + Number(inputs['width']));
    const toY = Math.min(h, y + Number(inputs['height']));
    const outW = toX - x;
    const outH = toY - y;
    const out = new Float32Array(b * outH * outW * c); // [B, outH, outW, C]
    for (let n = 0; n < b; n++) {
      for (let row = 0; row < outH; row++) {
        const src = ((n * h + y + row) * w + x) * c;
        out.set(image.data.subarray(src, src + outW * c), (n * outH + row) * outW * c);
      }
    }
    return { outputs: [Tensor.float32([b, outH, outW, c], out)] };
  },
});
