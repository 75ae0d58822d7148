/** Caching: key computation (structural signatures) and pluggable keeping policies, kept apart. */
export { type CacheEntry, type CachePolicy, createCacheEntry, lastPromptCache, lruCache, ramBudgetCache } from './policies.ts';
export {
  type CacheKeyOptions,
  type FingerprintContext,
  type FingerprintForm,
  collectFingerprints,
  computeCacheKeys,
  hiddenInputs,
  nodeSignature,
  takesUniqueId,
} from './cache-keys.ts';
export { type CanonicalForm, type TextSink, Hasher128, canonicalize, hashString, hashBytes } from './hash.ts';
