import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  MAX_MAP_BYTES,
  buildIndex,
  indexGeneratedFor,
  indexOriginalFor,
  mapText,
  type MapIndex,
  type MapRef,
} from './map-index.js';
import { MAP_SLICE_MS } from './config.js';
import { MAP_WORKER_MIN_BYTES, type MapIndexer } from './map-indexer.js';

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
  /** Why the map could not be read (with `map: null`), when it was a failure worth telling. */
  mapError?: string;
}

export interface SourceMapInfo {
  index: MapIndex;
  /** Normalised path of each entry of the map's `sources` (same order). */
  paths: string[];
  /** The originals' text the map embeds, by the same index. */
  sourcesContent: (string | null)[] | undefined;
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

/** Where a script's map is read from (`null`: none, not a file, or over {@link MAX_MAP_BYTES}). */
export function mapRefOf(
  script: Pick<ScriptInfo, 'url' | 'path' | 'sourceMapURL'>,
  fileSize = (p: string) => statSync(p).size,
): MapRef | null {
  const ref = script.sourceMapURL;
  if (!ref) return null;
  if (ref.startsWith('data:')) return { data: ref, mapUrl: script.url, bytes: ref.length };
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
  const bytes = fileSize(path);
  if (bytes > MAX_MAP_BYTES) return null;
  return { path, mapUrl: url.href, bytes };
}

/** What the agent keeps of an index: the normalised paths of its sources besides. */
export function mapInfoOf(index: MapIndex): SourceMapInfo {
  const paths = index.resolvedSources.map((s, i) => normalisePath(s ?? index.sources[i] ?? ''));
  return { index, paths, sourcesContent: index.sourcesContent };
}

/** Reads and indexes a map on this thread. */
export function loadSourceMap(
  script: Pick<ScriptInfo, 'url' | 'path' | 'sourceMapURL'>,
  readFile = (p: string) => readFileSync(p, 'utf8'),
  fileSize = (p: string) => statSync(p).size,
  ref: MapRef | null = mapRefOf(script, fileSize),
): SourceMapInfo | null {
  if (ref === null) return null;
  const text = mapText(ref, readFile, () => ref.bytes);
  if (text === null) return null;
  return mapInfoOf(buildIndex(text, ref.mapUrl));
}

/** Map an original `source` line to the first generated position on it, or on the next line that has code. */
export function generatedFor(
  info: SourceMapInfo,
  sourceIndex: number,
  line: number,
  lookahead = 200,
): { line: number; column: number; originalLine: number } | undefined {
  return indexGeneratedFor(info.index, sourceIndex, line, lookahead);
}

/** Map a generated position back to the original file and line. */
export function originalFor(
  info: SourceMapInfo,
  line: number,
  column: number,
): { file: string; line: number; column: number } | undefined {
  const p = indexOriginalFor(info.index, line, column);
  if (p === undefined) return undefined;
  return {
    file: info.paths[p.sourceIndex] ?? normalisePath(info.index.resolvedSources[p.sourceIndex]!),
    line: p.line,
    column: p.column,
  };
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
  /** Maps being indexed off the app's thread; each promise settles (never rejects) once `script.map` is set. */
  private readonly offThread = new Map<ScriptInfo, Promise<void>>();
  private readonly indexer: MapIndexer | undefined;
  private readonly workerMinBytes: number;

  private readonly mapSliceMs: number;
  private readonly now: () => number;
  private readonly namer: ((file: string) => string) | undefined;

  /**
   * `mapSliceMs`: the time budget of one slice of map reading; `now`: the clock (ms) slices are measured by
   * (`performance.now` unless given).
   */
  constructor(
    ignore: (path: string) => boolean,
    options: {
      mapSliceMs?: number;
      now?: () => number;
      name?: (file: string) => string;
      /** Indexes maps of at least `workerMinBytes` off the app's thread; without one, every map is read here. */
      indexer?: MapIndexer;
      workerMinBytes?: number;
    } = {},
  ) {
    this.indexer = options.indexer;
    this.workerMinBytes = options.workerMinBytes ?? MAP_WORKER_MIN_BYTES;
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
    return this.readSlice(budgetMs, nodeModules) === 'done';
  }

  /**
   * One slice of map reading. Large maps are handed to the worker (no time of this thread); `waiting`: what is left
   * is only maps the worker is indexing.
   */
  private readSlice(budgetMs: number, nodeModules: boolean): 'done' | 'more' | 'waiting' {
    const deadline = this.now() + budgetMs;
    let read = 0;
    let waiting = false;
    for (const script of this.withMaps(nodeModules)) {
      if (script.map !== undefined) continue;
      if (this.offThread.has(script)) {
        waiting = true;
        continue;
      }
      if (read > 0 && this.now() >= deadline) return 'more';
      if (this.mapOf(script) === null && this.offThread.has(script)) waiting = true;
      else read++;
    }
    return waiting ? 'waiting' : 'done';
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
   * between them, and waits for those indexed off the thread.
   * Concurrent calls share one pass.
   */
  readMaps(nodeModules = false): Promise<void> {
    const running = this.reading.get(nodeModules);
    if (running) return running;
    const pass = async (): Promise<void> => {
      for (;;) {
        // Yield first: the caller may just have spent a slice.
        await new Promise((r) => setImmediate(r));
        const step = this.readSlice(this.mapSliceMs, nodeModules);
        if (step === 'done') return;
        if (step === 'waiting') await Promise.race(this.offThread.values());
      }
    };
    const p = pass().finally(() => this.reading.delete(nodeModules));
    this.reading.set(nodeModules, p);
    return p;
  }

  /**
   * The script's map, read now if it is small. A large one is handed to the worker and `null` returned until it is
   * indexed (`script.map` stays undefined meanwhile).
   */
  mapOf(script: ScriptInfo): SourceMapInfo | null {
    if (script.map !== undefined) return script.map;
    if (this.offThread.has(script)) return null;
    try {
      const ref = mapRefOf(script);
      if (ref !== null && ref.bytes >= this.workerMinBytes && this.indexer?.available) {
        this.indexOffThread(script, ref, this.indexer);
        return null;
      }
      script.map = loadSourceMap(script, undefined, undefined, ref);
    } catch {
      script.map = null;
    }
    return script.map;
  }

  private indexOffThread(script: ScriptInfo, ref: MapRef, indexer: MapIndexer): void {
    const job = indexer.index(ref).then(
      (index) => {
        script.map = index === null ? null : mapInfoOf(index);
      },
      (err: unknown) => {
        script.map = null;
        script.mapError = (err instanceof Error ? err.message : String(err)).slice(0, 200);
      },
    );
    const settled = job.finally(() => this.offThread.delete(script));
    this.offThread.set(script, settled);
  }

  resolve(file: string, line: number): Resolution {
    const wanted = normalisePath(file);
    const lookInNodeModules = wanted.includes('node_modules/');
    // Every map must be read before answering (a match in an unread one would make the answer ambiguous). One slice
    // here; while a pass reads the rest, other resolutions wait for it instead of spending a slice each.
    if (this.reading.has(lookInNodeModules) || this.readSlice(this.mapSliceMs, lookInNodeModules) !== 'done') {
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
    if (candidates.length === 0) {
      // A map that could not be indexed may be the one naming the file: say so.
      const failed = [...this.withMaps(lookInNodeModules)].find((s) => s.map === null && s.mapError !== undefined);
      const why = failed
        ? ` (the source map of ${this.name(normalisePath(failed.path ?? failed.url))} could not be read: ${failed.mapError})`
        : '';
      return { kind: 'pending', reason: `no loaded script matches ${file} yet${why}` };
    }
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
