import { readFileSync, statSync } from 'node:fs';
import { TraceMap, decodedMappings } from '@jridgewell/trace-mapping';

/**
 * A source map decoded into flat typed arrays: what the agent asks of a map (the original position of a generated
 * one; the first generated position of an original line) without the map's text or one small array per mapping in
 * the heap. Built by {@link buildIndex}, on the app's thread for small maps and in a worker thread for large ones
 * (the arrays are transferred, not copied).
 */
export interface MapIndex {
  sources: (string | null)[];
  /** `sources` resolved against the map's URL and `sourceRoot` (as `@jridgewell/trace-mapping` resolves them). */
  resolvedSources: string[];
  sourcesContent: (string | null)[] | undefined;
  /** Generated line `i` (0-based) holds the segments `lines[i]` … `lines[i + 1] - 1`. */
  lines: Int32Array;
  /** Four numbers a segment, in generated order: generated column, source index (-1: none), original line, column. */
  segs: Int32Array;
  /** The slots of source `s` in `best` are `srcBase[s]` … `srcBase[s + 1] - 1`, one per original line (0-based). */
  srcBase: Int32Array;
  /** Per source and original line: the segment to place a probe at (-1: the line has none). */
  best: Int32Array;
  /** A mapping names a source the map does not list. */
  badSource: boolean;
}

/** What a map is read from: its file, or the `data:` URL a script names. */
export type MapRef = { mapUrl: string; bytes: number } & ({ path: string } | { data: string });

/** Larger source maps are not read: decoding one takes seconds and a lot of memory. */
export const MAX_MAP_BYTES = 50 * 1024 * 1024;

/** The text of a map (`null`: over {@link MAX_MAP_BYTES}). */
export function mapText(
  ref: MapRef,
  readFile = (p: string) => readFileSync(p, 'utf8'),
  fileSize = (p: string) => statSync(p).size,
): string | null {
  let text: string;
  if ('data' in ref) {
    const comma = ref.data.indexOf(',');
    if (comma < 0) return null;
    const meta = ref.data.slice(5, comma);
    const body = ref.data.slice(comma + 1);
    text = meta.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
  } else {
    // Sized before it is read: a huge map must not be loaded into memory to find out.
    if (fileSize(ref.path) > MAX_MAP_BYTES) return null;
    text = readFile(ref.path);
  }
  return text.length > MAX_MAP_BYTES ? null : text;
}

/** Decodes a map and builds its index. Throws on a map that cannot be parsed. */
export function buildIndex(text: string, mapUrl: string): MapIndex {
  const map = new TraceMap(text, mapUrl);
  // Sorted by generated column within each line, as the decoder leaves them.
  const decoded = decodedMappings(map);
  const nSources = map.sources.length;
  let n = 0;
  for (const line of decoded) n += line.length;
  const lines = new Int32Array(decoded.length + 1);
  const segs = new Int32Array(n * 4);
  const maxLine = new Int32Array(nSources).fill(-1);
  let badSource = false;
  let k = 0;
  for (let i = 0; i < decoded.length; i++) {
    lines[i] = k;
    for (const seg of decoded[i]!) {
      const o = k * 4;
      segs[o] = seg[0];
      if (seg.length === 1) segs[o + 1] = -1;
      else {
        const s = seg[1];
        segs[o + 1] = s;
        segs[o + 2] = seg[2];
        segs[o + 3] = seg[3];
        if (s < 0 || s >= nSources) badSource = true;
        else if (seg[2] > maxLine[s]!) maxLine[s] = seg[2];
      }
      k++;
    }
  }
  lines[decoded.length] = k;
  const srcBase = new Int32Array(nSources + 1);
  let slots = 0;
  for (let s = 0; s < nSources; s++) {
    srcBase[s] = slots;
    slots += maxLine[s]! + 1;
    // One slot per original line: a map claiming line 10⁹ of a file is not one to allocate for.
    if (slots > n * 4 + 1_000_000) throw new Error('original line numbers out of range');
  }
  srcBase[nSources] = slots;
  const best = new Int32Array(slots).fill(-1);
  // Per original line, the segment at its smallest original column, the first in generated order among those (what
  // `allGeneratedPositionsFor` at column 0 returns, its earliest position).
  for (let j = 0; j < n; j++) {
    const o = j * 4;
    const s = segs[o + 1]!;
    if (s < 0 || s >= nSources || segs[o + 2]! < 0) continue;
    const slot = srcBase[s]! + segs[o + 2]!;
    const b = best[slot]!;
    if (b < 0 || segs[o + 3]! < segs[b * 4 + 3]!) best[slot] = j;
  }
  return {
    sources: map.sources,
    resolvedSources: map.resolvedSources,
    sourcesContent: map.sourcesContent ?? undefined,
    lines,
    segs,
    srcBase,
    best,
    badSource,
  };
}

/** The generated line (0-based) of segment `j`. */
function lineOf(ix: MapIndex, j: number): number {
  let lo = 0;
  let hi = ix.lines.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ix.lines[mid]! <= j) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The first generated position of original line `line` (1-based) of source `sourceIndex`, or of the next line that
 * has code within `lookahead` lines.
 */
export function indexGeneratedFor(
  ix: MapIndex,
  sourceIndex: number,
  line: number,
  lookahead: number,
): { line: number; column: number; originalLine: number } | undefined {
  const source = ix.sources[sourceIndex];
  if (source === undefined || source === null) return undefined;
  // Looked up by name, as the decoder does: a name listed twice means its first entry.
  const s = ix.sources.indexOf(source);
  if (ix.badSource) throw new Error('a mapping names a source the map does not list');
  const base = ix.srcBase[s]!;
  const count = ix.srcBase[s + 1]! - base;
  for (let l = Math.max(line, 1); l < line + lookahead && l - 1 < count; l++) {
    const j = ix.best[base + l - 1]!;
    if (j >= 0) return { line: lineOf(ix, j) + 1, column: ix.segs[j * 4]!, originalLine: l };
  }
  return undefined;
}

/** The segment index for generated `line` (0-based) and `column`, with either bias, or -1. */
function trace(ix: MapIndex, line: number, column: number, leastUpper: boolean): number {
  if (line < 0 || line >= ix.lines.length - 1) return -1;
  const a = ix.lines[line]!;
  const b = ix.lines[line + 1]!;
  const col = (j: number) => ix.segs[j * 4]!;
  let lo = a;
  let hi = b - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = lo + ((hi - lo) >> 1);
    const c = col(mid) - column;
    if (c === 0) {
      found = mid;
      break;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  let j: number;
  if (found >= 0) {
    j = found;
    if (leastUpper) while (j + 1 < b && col(j + 1) === column) j++;
    else while (j - 1 >= a && col(j - 1) === column) j--;
  } else j = leastUpper ? lo : lo - 1;
  return j < a || j >= b ? -1 : j;
}

/** The original position of a generated one (1-based line, 0-based column): at or before it, else after it. */
export function indexOriginalFor(
  ix: MapIndex,
  line: number,
  column: number,
): { sourceIndex: number; line: number; column: number } | undefined {
  if (column < 0) return undefined;
  for (const leastUpper of [false, true]) {
    const j = trace(ix, line - 1, column, leastUpper);
    if (j < 0) continue;
    const s = ix.segs[j * 4 + 1]!;
    if (s < 0) continue;
    if (s >= ix.resolvedSources.length) return undefined;
    // A file listed twice is named by its first entry, as the decoder's answer is looked up.
    return {
      sourceIndex: ix.resolvedSources.indexOf(ix.resolvedSources[s]!),
      line: ix.segs[j * 4 + 2]! + 1,
      column: ix.segs[j * 4 + 3]!,
    };
  }
  return undefined;
}

/** The buffers to transfer when an index is posted between threads. */
export function transferList(ix: MapIndex): ArrayBuffer[] {
  return [ix.lines, ix.segs, ix.srcBase, ix.best].map((a) => a.buffer as ArrayBuffer);
}
