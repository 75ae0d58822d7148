import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown.ts';

describe('renderMarkdown', () => {
  it('renders headings, paragraphs, emphasis, code and lists', () => {
    expect(renderMarkdown('# Title\nSome **bold** and *italic* and _also_ text\nnext line')).toBe(
      '<h1>Title</h1><p>Some <strong>bold</strong> and <em>italic</em> and <em>also</em> text<br>next line</p>',
    );
    expect(renderMarkdown('- one\n- `two * three`\n\n1. first\n2. second')).toBe(
      '<ul><li>one</li><li><code>two * three</code></li></ul><ol><li>first</li><li>second</li></ol>',
    );
    expect(renderMarkdown('```\nconst a = **b**;\n```')).toBe('<pre><code>const a = **b**;</code></pre>');
    // snake_case words and dunder names stay as they are.
    expect(renderMarkdown('a control_after_generate b')).toBe('<p>a control_after_generate b</p>');
    expect(renderMarkdown('x__a = 1; y__b = 2; __strong__')).toBe('<p>x__a = 1; y__b = 2; <strong>strong</strong></p>');
  });

  it('makes links open in a new tab, and drops unsafe targets', () => {
    expect(renderMarkdown('[docs](https://example.com/a?b=1&c=2)')).toBe(
      '<p><a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">docs</a></p>',
    );
    expect(renderMarkdown('[x](javascript:alert(1))')).not.toContain('<a');
    expect(renderMarkdown('[x](data:text/html,hi)')).toBe('<p>x</p>');
    expect(renderMarkdown('[x](//evil.example)')).toBe('<p>x</p>');
    expect(renderMarkdown('[rel](notes/readme.md)')).toContain('href="notes/readme.md"');
  });

  it('shows raw HTML as text', () => {
    const html = renderMarkdown('<img src=x onerror="alert(1)"> <script>alert(2)</script> **<b>x</b>**');
    expect(html).not.toMatch(/<(img|script|b)\b/);
    expect(html).toBe('<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &lt;script&gt;alert(2)&lt;/script&gt; <strong>&lt;b&gt;x&lt;/b&gt;</strong></p>');
    // A link's text and target cannot break out of the attribute.
    expect(renderMarkdown('[a"b](https://x.test/"onmouseover="y)')).not.toMatch(/href="[^"]*"onmouseover/);
  });
});
