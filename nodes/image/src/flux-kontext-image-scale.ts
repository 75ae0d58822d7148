/**
 * FluxKontextImageScale (ComfyUI comfy_extras/nodes_flux.py): scales a picture (lanczos, centre crop) to the
 * FLUX Kontext resolution whose aspect ratio is nearest its own (ties: the narrower, then the shorter).
 */

import { defineNode } from '@uso-studio/core';
import { upscaleImage } from './image-scale.ts';
import { expectImage } from './tensor-io.ts';

/** ComfyUI's PREFERED_KONTEXT_RESOLUTIONS, (width, height). */
export const KONTEXT_RESOLUTIONS: readonly (readonly [number, number])[] = [
  [672, 1568], [688, 1504], [720, 1456], [752, 1392], [800, 1328], [832, 1248], [880, 1184], [944, 1104],
  [1024, 1024], [1104, 944], [1184, 880], [1248, 832], [1328, 800], [1392, 752], [1456, 720], [1504, 688], [1568, 672],
];

/** The Kontext resolution for a width x height picture: least |aspect - w/h|, then least w, then least h. */
export function kontextResolution(width: number, height: number): { width: number; height: number } {
  const aspect = width / height;
  let best: [number, number, number] | undefined;
  for (const [w, h] of KONTEXT_RESOLUTIONS) {
    const candidate: [number, number, number] = [Math.abs(aspect - w / h), w, h];
    if (!best || candidate[0] < best[0] || (candidate[0] === best[0] && (candidate[1] < best[1] || (candidate[1] === best[1] && candidate[2] < best[2])))) {
      best = candidate;
    }
  }
  return { width: best![1], height: best![2] };
}

export const fluxKontextImageScale = defineNode({
  name: 'FluxKontextImageScale',
  category: 'advanced/conditioning/flux',
  description: 'This node resizes the image to one that is more optimal for flux kontext.',
  pack: 'comfy_extras.nodes_flux',
  comfyApi: 'v3',
  inputs: { required: { image: { type: 'IMAGE' } } },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  async execute(inputs) {
    const image = expectImage(inputs['image'], 'image');
    const size = kontextResolution(image.shape[2]!, image.shape[1]!);
    return { outputs: [await upscaleImage(image, size.width, size.height, 'lanczos', 'center')] };
  },
});
