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
