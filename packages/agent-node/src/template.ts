/** A log template: literal text with `{expression}` parts; `{{` and `}}` are literal braces. */
export type TemplatePart = { text: string } | { expression: string };

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      text += '{';
      i += 2;
    } else if (c === '}' && template[i + 1] === '}') {
      text += '}';
      i += 2;
    } else if (c === '}') {
      throw new TemplateError(`unmatched "}" at column ${i + 1} (write "}}" for a literal brace)`);
    } else if (c === '{') {
      const end = findClose(template, i + 1);
      if (end < 0) throw new TemplateError(`unclosed "{" at column ${i + 1} (write "{{" for a literal brace)`);
      const expression = template.slice(i + 1, end).trim();
      if (expression.length === 0) throw new TemplateError(`empty {} at column ${i + 1}`);
      if (text) parts.push({ text });
      text = '';
      parts.push({ expression });
      i = end + 1;
    } else {
      text += c;
      i++;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** Index of the `}` closing an expression that starts at `from`, skipping nested braces and string literals. */
function findClose(s: string, from: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}
