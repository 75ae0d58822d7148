import type { NodePack } from '@uso-studio/core';
import { loadImage } from './load-image.ts';
import { previewImage, saveImage } from './save-image.ts';
import { imageScale, imageScaleToMaxDimension, imageScaleToTotalPixels } from './image-scale.ts';
import { imageBatch, imageCrop, imageInvert } from './image-ops.ts';
import { imageStitch } from './image-stitch.ts';
import { fluxKontextImageScale } from './flux-kontext-image-scale.ts';

/**
 * The image node pack: LoadImage, SaveImage, PreviewImage, ImageScale, ImageScaleToMaxDimension,
 * ImageScaleToTotalPixels, ImageInvert, ImageBatch, ImageCrop, ImageStitch, FluxKontextImageScale.
 */
export const pack: NodePack = {
  name: 'image',
  nodes: [
    loadImage, saveImage, previewImage, imageScale, imageScaleToMaxDimension, imageScaleToTotalPixels,
    imageInvert, imageBatch, imageCrop, imageStitch, fluxKontextImageScale,
  ],
};

export { loadImage, decodeImage, ImageDecodeError, DEFAULT_MAX_IMAGE_PIXELS, type DecodedImage } from './load-image.ts';
export { saveImage, previewImage, saveImages, DiskFullError, asciiJson, type SavedImage, type SaveImagesOptions } from './save-image.ts';
export {
  imageScale,
  imageScaleToMaxDimension,
  imageScaleToTotalPixels,
  totalPixelsSize,
  upscaleImage,
  imageScaleSize,
  maxDimensionSize,
  MAX_RESOLUTION,
  type UpscaleMethod,
} from './image-scale.ts';
export { imageInvert, imageBatch, imageCrop } from './image-ops.ts';
export { imageStitch } from './image-stitch.ts';
export { fluxKontextImageScale, kontextResolution, KONTEXT_RESOLUTIONS } from './flux-kontext-image-scale.ts';
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
