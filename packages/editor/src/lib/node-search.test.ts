import { describe, expect, it } from 'vitest';
import { FRONTEND_SEARCH_ENTRIES, searchNodes } from './node-search.ts';
import { testObjectInfo } from './test-support.ts';

const info = testObjectInfo();

describe('searchNodes', () => {
  it('ranks title prefixes first', () => {
    expect(searchNodes(info, 'vae')[0]!.type).toMatch(/^VAE/);
    expect(searchNodes(info, 'ksam')[0]!.type).toBe('KSampler');
  });

  it('needs every word to match', () => {
    expect(searchNodes(info, 'load image').map((h) => h.type)).toContain('LoadImage');
    expect(searchNodes(info, 'load zebra')).toEqual([]);
  });

  it('keeps only nodes that fit a dragged link', () => {
    const takingLatent = searchNodes(info, '', { inputType: 'LATENT' }).map((h) => h.type);
    expect(takingLatent).toContain('VAEDecode');
    expect(takingLatent).toContain('KSampler');
    expect(takingLatent).not.toContain('VAEEncode');
    const givingVae = searchNodes(info, '', { outputType: 'VAE' }).map((h) => h.type);
    expect(givingVae).toEqual(['CheckpointLoaderSimple']);
  });

  it('offers the front end\'s Primitive for links out of widget sockets only', () => {
    const all = { ...FRONTEND_SEARCH_ENTRIES, ...info };
    expect(searchNodes(all, 'primitive')[0]).toMatchObject({ type: 'PrimitiveNode', title: 'Primitive' });
    expect(searchNodes(all, '', { outputType: 'INT' }).map((h) => h.type)).toContain('PrimitiveNode');
    expect(searchNodes(all, '', { outputType: 'COMBO' }).map((h) => h.type)).toContain('PrimitiveNode');
    expect(searchNodes(all, '', { outputType: 'IMAGE' }).map((h) => h.type)).not.toContain('PrimitiveNode');
    expect(searchNodes(all, '', { inputType: 'INT' }).map((h) => h.type)).not.toContain('PrimitiveNode');
  });

  it('offers the front end\'s Reroute, Note and MarkdownNote', () => {
    const all = { ...FRONTEND_SEARCH_ENTRIES, ...info };
    expect(searchNodes(all, 'reroute')[0]).toMatchObject({ type: 'Reroute' });
    expect(searchNodes(all, 'note').map((h) => h.type)).toEqual(expect.arrayContaining(['Note', 'MarkdownNote']));
    // A Reroute takes and gives any type, so a dragged link of any type offers it.
    expect(searchNodes(all, '', { inputType: 'LATENT' }).map((h) => h.type)).toContain('Reroute');
  });

  it('respects the limit', () => expect(searchNodes(info, '', {}, 3)).toHaveLength(3));
});
