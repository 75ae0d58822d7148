import { describe, expect, it } from 'vitest';
import { clearDeleteSchema, historyQuerySchema, promptBodySchema } from './schemas.ts';

describe('request schemas', () => {
  it('accepts ComfyUI front-end bodies, keeping unknown keys', () => {
    const body = promptBodySchema.parse({ prompt: {}, client_id: 'c', extra_data: { extra_pnginfo: { workflow: {} } }, front: true, number: '3', api_key_comfy_org: 'k' });
    expect(body.number).toBe(3);
    expect((body as Record<string, unknown>).api_key_comfy_org).toBe('k');
  });

  it('refuses wrong types', () => {
    expect(promptBodySchema.safeParse({ prompt: {}, prompt_id: 'a/b' }).success).toBe(false);
    expect(promptBodySchema.safeParse({ number: Infinity }).success).toBe(false);
    expect(clearDeleteSchema.safeParse({ delete: [1] }).success).toBe(false);
    expect(historyQuerySchema.parse({ max_items: '5', offset: '-1' })).toEqual({ max_items: 5, offset: -1 });
    expect(historyQuerySchema.safeParse({ max_items: '-2' }).success).toBe(false);
  });
});
