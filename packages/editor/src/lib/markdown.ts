/**
 * A small Markdown renderer for MarkdownNote: headings, paragraphs, bullet and numbered lists, fenced and inline
 * code, bold, italics and links. Safe by construction: the text is HTML-escaped before any markup is added, so raw
 * HTML in a note shows as text; links keep only http(s), mailto and relative targets and open in a new tab.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A link target that is safe to put in href (already HTML-escaped), or null. */
function safeHref(url: string): string | null {
  const decoded = url.replace(/&amp;/g, '&');
  if (/^(https?:|mailto:)/i.test(decoded)) return url;
  // Relative targets: no scheme at all (javascript:, data: and the like have one).
  if (!/^[a-z][a-z0-9+.-]*:/i.test(decoded) && !decoded.startsWith('//')) return url;
  return null;
}

/** Inline markup of one escaped line: code spans first (their content stays literal), then links, bold, italics. */
function inline(escaped: string): string {
  const codes: string[] = [];
  let out = escaped.replace(/`([^`]+)`/g, (_, code: string) => `\u0000${codes.push(code) - 1}\u0000`);
  out = out.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, text: string, url: string) => {
    const href = safeHref(url);
    return href ? `<a href="${href}" target="_blank" rel="noopener noreferrer">${text}</a>` : text;
  });
  out = out.replace(/\*\*(?=\S)(.+?)\*\*|(?<!\w)__(?=\S)(.+?)__(?!\w)/g, (_, a?: string, b?: string) => `<strong>${a ?? b}</strong>`);
  out = out.replace(/\*(?=\S)(.+?)\*|(?<![\w])_(?=\S)(.+?)_(?![\w])/g, (_, a?: string, b?: string) => `<em>${a ?? b}</em>`);
  return out.replace(/\u0000(\d+)\u0000/g, (_, i: string) => `<code>${codes[Number(i)]}</code>`);
}

/** Renders Markdown `text` to HTML that carries no markup of its own (see the module note). */
export function renderMarkdown(text: string): string {
  const lines = escapeHtml(text.replace(/\r\n?/g, '\n')).split('\n');
  const html: string[] = [];
  let paragraph: string[] = [];
  let list: { tag: 'ul' | 'ol'; items: string[] } | null = null;
  const flushParagraph = () => {
    if (paragraph.length) html.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (list) html.push(`<${list.tag}>${list.items.map((item) => `<li>${inline(item)}</li>`).join('')}</${list.tag}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*```/.test(line)) {
      flushParagraph();
      flushList();
      const code: string[] = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i]!)) code.push(lines[i]!);
      html.push(`<pre><code>${code.join('\n')}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      flushList();
      html.push(`<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`);
    } else if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? 'ul' : 'ol';
      if (list && (list as { tag: string }).tag !== tag) flushList();
      list ??= { tag, items: [] };
      (list as { items: string[] }).items.push((bullet ?? numbered)![1]!);
    } else if (!line.trim()) {
      flushParagraph();
      flushList();
    } else {
      flushList();
      paragraph.push(line);
    }
  }
  flushParagraph();
  flushList();
  return html.join('');
}
