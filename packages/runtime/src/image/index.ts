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
