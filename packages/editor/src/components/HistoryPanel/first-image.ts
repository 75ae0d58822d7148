import type { HistoryEntry, ImageRef } from '../../lib/api-client.ts';

/** The first image a history entry produced (its thumbnail), or undefined. */
export function firstImage(entry: Pick<HistoryEntry, 'outputs'>): ImageRef | undefined {
  for (const output of Object.values(entry.outputs ?? {})) {
    const images = (output as { images?: ImageRef[] }).images;
    if (Array.isArray(images) && images[0]) return images[0];
  }
  return undefined;
}
