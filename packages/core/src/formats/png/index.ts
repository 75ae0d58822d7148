export {
  PNG_SIGNATURE,
  PngFormatError,
  isPng,
  readPngChunks,
  readPngTextChunks,
  readPngTextChunkList,
  insertPngTextChunks,
  makeChunk,
  zlibDeflate,
  type PngChunk,
  type PngTextChunk,
  type InsertPngTextOptions,
} from './png-text.ts';
export { readPngWorkflow, parsePythonJson, type PngWorkflow } from './png-workflow.ts';
export { crc32 } from './crc32.ts';
