// @vitest-environment jsdom
import { describe, expect, it, vi } from 'vitest';
import { downloadJson } from './workflow-files.ts';

describe('downloadJson', () => {
  it('keeps each download\'s object URL until the next download, never revoking it on a timer', () => {
    const doc = document;
    const created: string[] = [];
    const revoked: string[] = [];
    const original = { create: URL.createObjectURL, revoke: URL.revokeObjectURL };
    URL.createObjectURL = () => { created.push(`blob:${created.length}`); return created.at(-1)!; };
    URL.revokeObjectURL = (url: string) => void revoked.push(url);
    vi.useFakeTimers();
    try {
      downloadJson('a.json', { a: 1 }, doc);
      vi.advanceTimersByTime(60_000);
      expect(revoked).toEqual([]);
      downloadJson('b.json', { b: 2 }, doc);
      expect(revoked).toEqual(['blob:0']);
      expect(doc.querySelectorAll('a').length).toBe(0);
    } finally {
      vi.useRealTimers();
      URL.createObjectURL = original.create;
      URL.revokeObjectURL = original.revoke;
    }
  });
});
