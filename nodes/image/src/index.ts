import type { NodePack } from '@uso-studio/core';
import { loadImage } from './load-image.ts';
import { previewImage, saveImage } from './save-image.ts';
import { imageScale, imageScaleToMaxDimension } from './image-scale.ts';
import { imageBatch, imageCrop, imageInvert } from './image-ops.ts';

/** The image node pack: LoadImage, SaveImage, PreviewImage, ImageScale, ImageScaleToMaxDimension, ImageInvert, ImageBatch, ImageCrop. */
export const pack: NodePack = {
  name: 'image',
  nodes: [loadImage, saveImage, previewImage, imageScale, imageScaleToMaxDimension, imageInvert, imageBatch, imageCrop],
};

export { loadImage, decodeImage, ImageDecodeError, DEFAULT_MAX_IMAGE_PIXELS, type DecodedImage } from './load-image.ts';
export { saveImage, previewImage, saveImages, DiskFullError, asciiJson, type SavedImage, type SaveImagesOptions } from './save-image.ts';
export {
  imageScale,
  imageScaleToMaxDimension,
  upscaleImage,
  imageScaleSize,
  maxDimensionSize,
  MAX_RESOLUTION,
  type UpscaleMethod,
} from './image-scale.ts';
export { imageInvert, imageBatch, imageCrop } from './image-ops.ts';
export { imageTensorFromSharp, imageTensorFromRaw, imageToRaw, encodePng, catBatch, type RawPixels, type EncodePngOptions } from './tensor-io.ts';
export {
  UnsafePathError,
  resolveInside,
  resolveAnnotatedPath,
  parseAnnotatedName,
  listImageFiles,
  getSaveImagePath,
  IMAGE_EXTENSIONS,
  type SavePath,
  type FolderType,
} from './paths.ts';
