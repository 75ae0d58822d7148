import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { NodeRegistry } from '@uso-studio/core';
import { pack } from './index.ts';
import { makeTempEnv } from './test-context.ts';

const env = makeTempEnv();
afterAll(() => env.cleanup());

describe('image pack', () => {
  it('exports its nodes under ComfyUI class names', () => {
    expect(pack.name).toBe('image');
    expect(pack.nodes.map((n) => n.name)).toEqual([
      'LoadImage', 'SaveImage', 'PreviewImage', 'ImageScale', 'ImageScaleToMaxDimension', 'ImageScaleToTotalPixels',
      'ImageInvert', 'ImageBatch', 'ImageCrop', 'ImageStitch', 'FluxKontextImageScale',
    ]);
    expect(pack.nodes.filter((n) => n.outputNode).map((n) => n.name)).toEqual(['SaveImage', 'PreviewImage']);
  });

  it('renders /object_info entries in ComfyUI’s shape', () => {
    fs.writeFileSync(path.join(env.inputDir, 'style.png'), '');
    const info = new NodeRegistry(pack.nodes).objectInfo(env);
    expect(info['LoadImage']!.input.required['image']).toEqual([['style.png'], { image_upload: true }]);
    expect(info['LoadImage']!.output).toEqual(['IMAGE', 'MASK']);
    expect(info['SaveImage']!.input.hidden).toEqual({ prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' });
    expect(info['ImageScale']!.input_order.required).toEqual(['image', 'upscale_method', 'width', 'height', 'crop']);
    expect(info['ImageScaleToMaxDimension']!.python_module).toBe('comfy_extras.nodes_images');
  });
});
