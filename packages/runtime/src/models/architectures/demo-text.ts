/**
 * The demo text encoders. Both are token-embedding lookups with the real models' interfaces, so prompts reach the
 * DiT through the same nodes (DualCLIPLoader, CLIPTextEncode, CheckpointLoaderSimple) as with real T5/CLIP files.
 *
 * - `uso-demo-t5`: input_ids [B, L] -> Gather(`shared.weight` [V, ctx]) -> last_hidden_state [B, L, ctx]. In the demo
 *   file, colour words carry their colour (RGB in -1..1) in features 0..2, every word has name-seeded features
 *   3..ctx-2 and a presence flag 1 in the last feature; pad and end-of-sequence rows are zero.
 *   Checkpoint prefix `text_encoders.t5xxl.transformer.`.
 * - `uso-demo-clip`: input_ids [B, 77] -> Gather(`text_model.embeddings.token_embedding.weight` [V, vec]) -> the
 *   mean over the tokens whose last (presence) feature is set -> pooled [B, vec]. Start/end/pad rows are zero, so
 *   the mean covers the words only. Checkpoint prefix `text_encoders.clip_l.transformer.`.
 */

import { GraphBuilder } from '../../onnx/graph-builder.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { Architecture } from '../architecture.ts';
import { DEMO_IDS, hasKeyWithPrefix, isDemoFile, requireShape } from './demo-common.ts';

export interface DemoEmbeddingConfig {
  readonly vocab: number;
  readonly width: number;
}

const T5_KEY = 'shared.weight';
const CLIP_KEY = 'text_model.embeddings.token_embedding.weight';

function inferEmbedding(key: string) {
  return (h: SafetensorsHeader): DemoEmbeddingConfig => {
    const [vocab, width] = requireShape(h, key, 2) as [number, number];
    return { vocab, width };
  };
}

export const demoT5: Architecture<DemoEmbeddingConfig> = {
  id: DEMO_IDS.t5,
  version: 1,
  role: 't5',
  keyPrefixes: ['text_encoders.t5xxl.transformer.', ''],
  // A real T5 has encoder blocks; the demo has the embedding only.
  detect: (h) => isDemoFile(h) && h.tensors.has(T5_KEY) && !hasKeyWithPrefix(h, 'encoder.block.'),
  inferConfig: inferEmbedding(T5_KEY),
  requiredWeights: () => [T5_KEY],
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'uso_demo_t5', weights, metadata: { architecture: DEMO_IDS.t5 } });
    const ids = g.input('input_ids', 'int64', ['B', 'L']); // [B, L]
    const emb = g.gather(g.weight(T5_KEY), ids, 0, 'shared'); // [B, L, ctx]
    g.output(emb, 'last_hidden_state', 'float32', ['B', 'L', c.width]);
    return g.build();
  },
};

export const demoClip: Architecture<DemoEmbeddingConfig> = {
  id: DEMO_IDS.clip,
  version: 1,
  role: 'clip',
  keyPrefixes: ['text_encoders.clip_l.transformer.', ''],
  detect: (h) => isDemoFile(h) && h.tensors.has(CLIP_KEY) && !hasKeyWithPrefix(h, 'text_model.encoder.layers.'),
  inferConfig: inferEmbedding(CLIP_KEY),
  requiredWeights: () => [CLIP_KEY],
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'uso_demo_clip', weights, metadata: { architecture: DEMO_IDS.clip } });
    const ids = g.input('input_ids', 'int64', ['B', 77]); // [B, 77]
    const emb = g.gather(g.weight(CLIP_KEY), ids, 0, 'text_model.embeddings.token_embedding'); // [B, 77, vec]
    const sum = g.reduceSum(emb, [1], false, 'text_model.pool.sum'); // [B, vec]
    const presence = g.slice(sum, [c.width - 1], [c.width], [1], undefined, 'text_model.pool.count'); // [B, 1]
    const count = g.op('Max', [presence, g.scalar(1)], { name: 'text_model.pool.count_min1' }); // [B, 1]
    const pooled = g.div(sum, count, 'text_model.pool.mean'); // [B, vec]
    g.output(pooled, 'pooled', 'float32', ['B', c.width]);
    return g.build();
  },
};
