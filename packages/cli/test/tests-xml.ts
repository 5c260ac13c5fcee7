/**
 * A strict little XML reader for the JUnit tests: well-formedness (one root, matching tags, quoted attributes, only
 * the five named entities and character references, no raw `<` or `&`, only XML 1.0 characters), decoded into a
 * tree. It throws on anything a real parser would reject in these documents (no DTDs, comments or CDATA here).
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /[A-Za-z_][\w.-]*/y;
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function decode(raw: string, where: number): string {
  if (/<|&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(raw))
    throw new Error(`raw < or & (or an unknown entity) near offset ${where}: ${raw.slice(0, 60)}`);
  return raw.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!;
  });
}

export function parseXml(text: string): XmlElement {
  if (NOT_XML_CHAR.test(text)) throw new Error('a character XML 1.0 does not allow');
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (m === null) throw new Error(`a name expected at ${i}`);
    i = NAME.lastIndex;
    return m[0];
  };
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  const element = (): XmlElement => {
    if (text[i] !== '<') throw new Error(`< expected at ${i}`);
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipSpace();
      if (text.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      if (i === before) throw new Error(`space expected before an attribute at ${i}`);
      const key = name();
      if (key in el.attrs) throw new Error(`attribute ${key} twice`);
      if (text[i] !== '=') throw new Error(`= expected at ${i}`);
      i++;
      const quote = text[i];
      if (quote !== '"' && quote !== "'") throw new Error(`quoted value expected at ${i}`);
      const end = text.indexOf(quote, i + 1);
      if (end < 0) throw new Error('unterminated attribute value');
      el.attrs[key] = decode(text.slice(i + 1, end), i);
      i = end + 1;
    }
    for (;;) {
      const lt = text.indexOf('<', i);
      if (lt < 0) throw new Error(`</${el.name}> missing`);
      el.text += decode(text.slice(i, lt), i);
      i = lt;
      if (text.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) throw new Error(`</${closing}> closes <${el.name}>`);
        skipSpace();
        if (text[i] !== '>') throw new Error(`> expected at ${i}`);
        i++;
        if (el.children.length > 0) el.text = el.text.trim() === '' ? '' : el.text;
        return el;
      }
      el.children.push(element());
    }
  };
  skipSpace();
  const root = element();
  skipSpace();
  if (i !== text.length) throw new Error(`content after the root element at ${i}`);
  return root;
}

/** Every element named `name`, depth first. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => findAll(c, name))];
}
