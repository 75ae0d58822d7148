export { TINY_FILES, TINY_FLAG_KEY, generateTinyModels } from './generate.ts';
export { TINY_CLIP, TINY_DIT, TINY_PROJECTOR, TINY_SIGLIP, TINY_T5, TINY_VAE, tinyTensors } from './tiny-specs.ts';
