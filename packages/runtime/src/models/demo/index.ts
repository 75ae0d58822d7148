export {
  CHECKPOINT_PREFIXES,
  DEMO_CHECKPOINT_ID,
  DEMO_FILES,
  demoMetadata,
  generateDemoModels,
  type GenerateDemoOptions,
} from './generate.ts';
export { DEMO_CLIP_TOKENIZER, DEMO_T5_TOKENIZER, demoTokenizerConfig, demoTokenizerJson, demoVocabulary, type DemoTokenizerSpec } from './tokenizer.ts';
export { COLOUR_WORDS, demoWordTokens } from './vocabulary.ts';
export { demoStyleImageA, demoStyleImageB, demoSubjectImage, type RgbImage } from './images.ts';
export { encodePngRgb } from './png.ts';
export {
  DEMO_NUMBERS,
  demoClipTensors,
  demoDitTensors,
  demoLoraTensors,
  demoProjectorTensors,
  demoT5Tensors,
  demoVaeTensors,
  demoVisionTensors,
  type TensorMap,
} from './weights.ts';
