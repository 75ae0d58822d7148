export {
  resizeImage,
  resampleTable,
  cropCenterToAspect,
  cropImage,
  roundHalfEven,
  TORCH_RESIZE_MODES,
  type TorchResizeMode,
  type ResampleTable,
} from './resize.ts';
export { tiledScale, tiledScaleThreePass, threePassTiles, type TiledScaleOptions } from './tiled-scale.ts';
export { bislerp } from './bislerp.ts';
export { commonUpscaleLatent, LATENT_UPSCALE_METHODS, type LatentUpscaleMethod } from './common-upscale.ts';
export { pilLanczos } from './pil-lanczos.ts';
