import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  GREATEST_LOWER_BOUND,
  LEAST_UPPER_BOUND,
  TraceMap,
  allGeneratedPositionsFor,
  originalPositionFor,
} from '@jridgewell/trace-mapping';

/** A script V8 told us about (`Debugger.scriptParsed`). */
export interface ScriptInfo {
  scriptId: string;
  /** Exactly as V8 reported it; breakpoints are set by this URL. */
  url: string;
  /** File system path when the URL is a file. */
  path: string | undefined;
  isModule: boolean;
  sourceMapURL: string | undefined;
  /**
   * Compiled in a context of its own (`vm.createContext`: sandboxes, test runners), where the agent's hook global
   * does not exist: never instrumented.
   */
  foreign?: boolean;
  /** Loaded lazily: undefined = not tried, null = none or unreadable. */
  map?: SourceMapInfo | null;
}

export interface SourceMapInfo {
  map: TraceMap;
  /** Normalised path of each entry of `map.sources` (same order). */
  paths: string[];
}

export type Resolution =
  | {
      kind: 'found';
      script: ScriptInfo;
      /** 1-based line and 0-based column in the generated script where the search starts. */
      line: number;
      column: number;
      /** Set when the action was matched through a source map: the original file. */
      source: string | undefined;
    }
  /**
   * `readMaps`: source maps are still to be read; resolve again once {@link ScriptRegistry.readMaps} (with these
   * arguments) has read them in slices.
   */
  | { kind: 'pending'; reason: string; readMaps?: { nodeModules: boolean } }
  | { kind: 'error'; reason: string };

/**
 * Longest stretch the agent spends reading source maps in one go. Reading every map of a large app at once (first
 * action on a TypeScript path, or a source listing) would stall the host's event loop for as long as that takes.
 */
export const MAP_SLICE_MS = 8;

/** Most scripts kept that have no file path or run in a vm context of their own. */
const MAX_UNUSUAL_SCRIPTS = 5000;

/** Normalise a file reference: file URL or path, forward slashes, no leading `./`. */
export function normalisePath(file: string): string {
  let f = file.trim();
  if (f.startsWith('file://')) {
    try {
      f = fileURLToPath(f);
    } catch {
      f = f.slice('file://'.length);
    }
  }
  f = f.replace(/\\/g, '/');
  // Bundler schemes (`webpack://app/./src/a.ts`): keep what follows the scheme.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(f);
  if (scheme) f = f.slice(scheme[0].length);
  const parts: string[] = [];
  for (const seg of f.split('/')) {
    if (seg === '.' || (seg === '' && parts.length > 0)) continue;
    if (seg === '..' && parts.length > 0 && parts[parts.length - 1] !== '..' && parts[parts.length - 1] !== '')
      parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

/** `wanted` names `candidate`: equal, or a suffix at a path-segment boundary. */
export function pathMatches(candidate: string, wanted: string): boolean {
  if (candidate === wanted) return true;
  if (wanted.startsWith('/')) return false;
  return candidate.endsWith('/' + wanted);
}

/** Larger source maps are not read: decoding one takes seconds of the app's thread. */
const MAX_MAP_BYTES = 50 * 1024 * 1024;

export function loadSourceMap(
  script: Pick<ScriptInfo, 'url' | 'path' | 'sourceMapURL'>,
  readFile = (p: string) => readFileSync(p, 'utf8'),
  fileSize = (p: string) => statSync(p).size,
): SourceMapInfo | null {
  const ref = script.sourceMapURL;
  if (!ref) return null;
  let text: string;
  let mapUrl: string;
  if (ref.startsWith('data:')) {
    const comma = ref.indexOf(',');
    if (comma < 0) return null;
    const meta = ref.slice(5, comma);
    const body = ref.slice(comma + 1);
    text = meta.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
    mapUrl = script.url;
  } else {
    const base = script.path ? pathToFileURL(script.path).href : script.url;
    let url: URL;
    try {
      url = new URL(ref, base);
    } catch {
      return null;
    }
    if (url.protocol !== 'file:') return null;
    const path = fileURLToPath(url);
    // Sized before it is read: a huge map must not be loaded into memory to find out.
    if (fileSize(path) > MAX_MAP_BYTES) return null;
    text = readFile(path);
    mapUrl = url.href;
  }
  if (text.length > MAX_MAP_BYTES) return null;
  const map = new TraceMap(text, mapUrl);
  const paths = map.resolvedSources.map((s, i) => {
    const raw = s ?? map.sources[i] ?? '';
    return normalisePath(raw);
  });
  return { map, paths };
}

/** Map an original `source` line to the first generated position on it, or on the next line that has code. */
export function generatedFor(
  info: SourceMapInfo,
  sourceIndex: number,
  line: number,
  lookahead = 200,
): { line: number; column: number; originalLine: number } | undefined {
  const source = info.map.sources[sourceIndex];
  if (source === undefined || source === null) return undefined;
  for (let l = line; l < line + lookahead; l++) {
    const all = allGeneratedPositionsFor(info.map, { source, line: l, column: 0, bias: LEAST_UPPER_BOUND });
    let best: { line: number; column: number } | undefined;
    for (const p of all) {
      if (p.line === null || p.column === null) continue;
      if (!best || p.line < best.line || (p.line === best.line && p.column < best.column))
        best = { line: p.line, column: p.column };
    }
    if (best) return { ...best, originalLine: l };
  }
  return undefined;
}

/** Map a generated position back to the original file and line. */
export function originalFor(
  info: SourceMapInfo,
  line: number,
  column: number,
): { file: string; line: number; column: number } | undefined {
  let p = originalPositionFor(info.map, { line, column, bias: GREATEST_LOWER_BOUND });
  if (p.source === null) p = originalPositionFor(info.map, { line, column, bias: LEAST_UPPER_BOUND });
  if (p.source === null || p.line === null) return undefined;
  const idx = info.map.resolvedSources.indexOf(p.source);
  const file = idx >= 0 ? (info.paths[idx] ?? p.source) : normalisePath(p.source);
  return { file, line: p.line, column: p.column ?? 0 };
}

/** Every script the session has seen, and the `file:line` → script resolution. */
export class ScriptRegistry {
  private readonly byId = new Map<string, ScriptInfo>();
  private readonly builtinUrls = new Map<string, string>();
  /** Scripts without a file path or in a vm context of their own (capped). */
  private readonly unusual = new Set<string>();
  private readonly ignore: (path: string) => boolean;
  /** While the debugger is being turned on: the ids V8 reports (every script it still has), and the new ones. */
  private replay: { seen: Set<string>; added: ScriptInfo[] } | undefined;
  /** The slice-by-slice reading passes under way (app maps only, or node_modules too). */
  private readonly reading = new Map<boolean, Promise<void>>();

  private readonly mapSliceMs: number;
  private readonly now: () => number;
  private readonly namer: ((file: string) => string) | undefined;

  /**
   * `mapSliceMs`: the time budget of one slice of map reading; `now`: the clock (ms) slices are measured by
   * (`performance.now` unless given).
   */
  constructor(
    ignore: (path: string) => boolean,
    options: { mapSliceMs?: number; now?: () => number; name?: (file: string) => string } = {},
  ) {
    this.ignore = ignore;
    this.mapSliceMs = options.mapSliceMs ?? MAP_SLICE_MS;
    this.now = options.now ?? (() => performance.now());
    this.namer = options.name;
  }

  /**
   * The name a file goes by in what the agent reports (statuses, snapshot frames, messages): relative to the app's
   * root when one is known (see `SourcePaths`), else the normalised path.
   */
  name(file: string): string {
    if (this.namer === undefined) return file;
    try {
      return this.namer(file);
    } catch {
      return file;
    }
  }

  /**
   * Turning the debugger on makes V8 report every script it still has. A script edited by LiveEdit keeps its id,
   * but the versions the edits replaced stay in the heap until collected and are reported too, under new ids and
   * the same URL: call this before `Debugger.enable` and {@link endReplay} after it.
   */
  beginReplay(): void {
    this.replay = { seen: new Set(), added: [] };
  }

  /**
   * Ends a replay: scripts V8 no longer has are forgotten, and a URL already known under a script V8 still has keeps
   * that script (the new ids are replaced versions, whose functions no longer run). Returns the forgotten ids.
   */
  endReplay(): string[] {
    const replay = this.replay;
    this.replay = undefined;
    if (!replay) return [];
    const forgotten: string[] = [];
    const addedIds = new Set(replay.added.map((s) => s.scriptId));
    const liveUrls = new Set<string>();
    for (const [id, info] of this.byId) {
      if (addedIds.has(id)) continue;
      if (replay.seen.has(id)) liveUrls.add(info.url);
      else {
        this.drop(id);
        forgotten.push(id);
      }
    }
    for (const info of replay.added) {
      if (liveUrls.has(info.url)) {
        this.drop(info.scriptId);
        forgotten.push(info.scriptId);
      }
    }
    return forgotten;
  }

  private drop(scriptId: string): void {
    this.byId.delete(scriptId);
    this.unusual.delete(scriptId);
  }

  add(params: {
    scriptId: string;
    url: string;
    isModule?: boolean;
    sourceMapURL?: string;
    executionContextAuxData?: { isDefault?: boolean };
  }): ScriptInfo | undefined {
    this.replay?.seen.add(params.scriptId);
    // Re-enabling the debugger reports every script again under the same id: keep what is known (cached maps).
    const known = this.byId.get(params.scriptId);
    if (known !== undefined) return known;
    const url = params.url;
    if (url.startsWith('node:') || url.startsWith('internal/')) {
      // Node's own modules are never instrumented, but snapshot frames in them still name their file. A bounded set:
      // Node has a few hundred of them.
      this.builtinUrls.set(params.scriptId, url);
      return undefined;
    }
    if (!url || url.startsWith('evalmachine')) return undefined;
    let path: string | undefined;
    if (url.startsWith('file://')) {
      try {
        path = fileURLToPath(url);
      } catch {
        path = undefined;
      }
    } else if (isAbsolute(url)) path = url;
    if (path && this.ignore(path)) return undefined;
    const foreign = params.executionContextAuxData?.isDefault === false;
    // Code compiled at run time under a made-up name (template engines: `lodash.templateSources[12]`) or in vm
    // contexts can be created per request: only so many are kept, or the registry would grow without end.
    const unusual = foreign || path === undefined;
    if (unusual) {
      if (this.unusual.size >= MAX_UNUSUAL_SCRIPTS) return undefined;
      this.unusual.add(params.scriptId);
    }
    const info: ScriptInfo = {
      scriptId: params.scriptId,
      url,
      path,
      isModule: Boolean(params.isModule),
      sourceMapURL: params.sourceMapURL || undefined,
      ...(foreign ? { foreign } : {}),
    };
    this.byId.set(info.scriptId, info);
    this.replay?.added.push(info);
    return info;
  }

  get(scriptId: string): ScriptInfo | undefined {
    return this.byId.get(scriptId);
  }

  /** The script loaded from `file` (its URL or path, as an error's stack names it), the most recent one. */
  byFile(file: string): ScriptInfo | undefined {
    let found: ScriptInfo | undefined;
    for (const script of this.byId.values()) if (script.url === file || script.path === file) found = script;
    return found;
  }

  /** The URL of one of Node's own modules (`node:internal/timers`), for naming a snapshot frame in it. */
  builtinUrl(scriptId: string): string | undefined {
    return this.builtinUrls.get(scriptId);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every script seen so far (source browsing lists them). */
  all(): IterableIterator<ScriptInfo> {
    return this.byId.values();
  }

  /** Scripts that name a source map (outside node_modules unless `nodeModules`). */
  private *withMaps(nodeModules: boolean): Generator<ScriptInfo> {
    for (const script of this.byId.values()) {
      if (!script.sourceMapURL) continue;
      if (!nodeModules && (script.path ?? script.url).includes('/node_modules/')) continue;
      yield script;
    }
  }

  /** Reads unread source maps for about `budgetMs` (at least one); true when none is left. */
  readMapsFor(budgetMs: number, nodeModules = false): boolean {
    const deadline = this.now() + budgetMs;
    let read = 0;
    for (const script of this.withMaps(nodeModules)) {
      if (script.map !== undefined) continue;
      if (read > 0 && this.now() >= deadline) return false;
      this.mapOf(script);
      read++;
    }
    return true;
  }

  /** How many source maps are read, of how many known (for progress messages). */
  mapProgress(nodeModules = false): { read: number; total: number } {
    let read = 0;
    let total = 0;
    for (const script of this.withMaps(nodeModules)) {
      total++;
      if (script.map !== undefined) read++;
    }
    return { read, total };
  }

  /**
   * Reads every unread source map in slices ({@link MAP_SLICE_MS} by default), letting the host's event loop run
   * between them.
   * Concurrent calls share one pass.
   */
  readMaps(nodeModules = false): Promise<void> {
    const running = this.reading.get(nodeModules);
    if (running) return running;
    const pass = async (): Promise<void> => {
      // Yield first: the caller may just have spent a slice.
      do await new Promise((r) => setImmediate(r));
      while (!this.readMapsFor(this.mapSliceMs, nodeModules));
    };
    const p = pass().finally(() => this.reading.delete(nodeModules));
    this.reading.set(nodeModules, p);
    return p;
  }

  mapOf(script: ScriptInfo): SourceMapInfo | null {
    if (script.map === undefined) {
      try {
        script.map = loadSourceMap(script);
      } catch {
        script.map = null;
      }
    }
    return script.map;
  }

  resolve(file: string, line: number): Resolution {
    const wanted = normalisePath(file);
    const lookInNodeModules = wanted.includes('node_modules/');
    // Every map must be read before answering (a match in an unread one would make the answer ambiguous). One slice
    // here; while a pass reads the rest, other resolutions wait for it instead of spending a slice each.
    if (this.reading.has(lookInNodeModules) || !this.readMapsFor(this.mapSliceMs, lookInNodeModules)) {
      const { read, total } = this.mapProgress(lookInNodeModules);
      return {
        kind: 'pending',
        reason: `reading source maps (${read} of ${total})`,
        readMaps: { nodeModules: lookInNodeModules },
      };
    }
    let candidates: { script: ScriptInfo; matched: string; sourceIndex?: number }[] = [];
    for (const script of this.byId.values()) {
      const own = script.path ? normalisePath(script.path) : normalisePath(script.url);
      if (pathMatches(own, wanted)) {
        // Transformed in place (tsx, ts-node, babel's require hook, jest): V8 runs generated code under the file's
        // own URL, and its map names that same file. Its lines are the map's, not the script's.
        const map = script.sourceMapURL ? this.mapOf(script) : null;
        const self = map ? map.paths.indexOf(own) : -1;
        candidates.push(self >= 0 ? { script, matched: own, sourceIndex: self } : { script, matched: own });
        continue;
      }
      if (!script.sourceMapURL) continue;
      if (!lookInNodeModules && own.includes('/node_modules/')) continue;
      const map = this.mapOf(script);
      if (!map) continue;
      map.paths.forEach((p, i) => {
        if (pathMatches(p, wanted)) candidates.push({ script, matched: p, sourceIndex: i });
      });
    }
    if (candidates.length === 0) return { kind: 'pending', reason: `no loaded script matches ${file} yet` };
    const local = candidates.filter((c) => c.script.foreign !== true);
    if (local.length === 0) {
      return {
        kind: 'error',
        reason: `${file} runs only in a vm context of its own (vm.createContext: a sandbox or a test runner), which the agent cannot instrument`,
      };
    }
    candidates = local;
    // The name the agent reports a file by is exact: `src/app.ts` is that file even when some other loaded file
    // (`node_modules/lib/src/app.ts`) also ends in it.
    const exact = candidates.filter((c) => this.name(c.matched) === wanted);
    if (exact.length > 0) candidates = exact;
    const distinct = [...new Set(candidates.map((c) => this.name(c.matched)))];
    if (distinct.length > 1) {
      return {
        kind: 'error',
        reason: `${file} is ambiguous; it matches ${distinct.length} files: ${distinct.slice(0, 10).join(', ')}${distinct.length > 10 ? ', …' : ''}`,
      };
    }
    // The same file in several scripts (loaded twice): the most recent one runs.
    const c = candidates[candidates.length - 1]!;
    if (c.sourceIndex === undefined) return { kind: 'found', script: c.script, line, column: 0, source: undefined };
    const map = this.mapOf(c.script)!;
    let g: ReturnType<typeof generatedFor>;
    try {
      g = generatedFor(map, c.sourceIndex, line);
    } catch (err) {
      // A malformed map (a mapping naming a source that does not exist) throws inside the decoder.
      return {
        kind: 'error',
        reason: `the source map for ${this.name(c.matched)} cannot be used: ${(err as Error).message}`,
      };
    }
    if (!g) return { kind: 'error', reason: `no code at or after line ${line} of ${this.name(c.matched)}` };
    return { kind: 'found', script: c.script, line: g.line, column: g.column, source: c.matched };
  }
}
