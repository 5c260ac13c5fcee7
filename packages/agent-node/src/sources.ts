import { open, realpath } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import {
  PROTOCOL_VERSION,
  SOURCE_LIMITS,
  WIRE_LIMITS,
  type SourceFile,
  type SourceRequestFrame,
  type SourceResponseFrame,
} from '@spyglass/protocol/agent-base';
import { normalisePath, type ScriptInfo, type ScriptRegistry } from './locate.js';
import { ABSOLUTE_PATHS, appRootSync, type SourcePaths } from './paths.js';
import { isAgentOwnFile } from './own-files.js';
import { REDACTED, type Redactor } from './redact.js';

/** Where the text of a listed file comes from. */
interface Entry {
  file: SourceFile;
  /** Embedded in a source map (`sourcesContent`). */
  embedded?: string;
  /** A file on disk. */
  diskPath?: string;
}

export interface SourceCatalogOptions {
  /** The agent's blocklist: matching files are neither listed nor read. */
  blocked: (path: string) => boolean;
  maxTextBytes?: number;
  maxFiles?: number;
  /** Reads running at once; more are refused (the hub retries on the next request). */
  maxConcurrentReads?: number;
  /**
   * Directories whose files a source map may name for reading from disk. Default: the app's root (see
   * `appRoot`). Originals outside them are shown only when the map embeds their text.
   */
  roots?: readonly string[];
  /** For the default root: the main script (`process.argv[1]`) and the working directory. */
  main?: string | undefined;
  cwd?: string;
  /** How files are named in the list (and may be asked for): relative to the app root. Default: absolute paths. */
  paths?: SourcePaths;
}

/** The app's root (see {@link appRootSync}); kept for callers that await it. Never throws. */
export function appRoot(main: string | undefined, cwd: string): Promise<string | null> {
  return Promise.resolve(appRootSync(main, cwd));
}

/** Whether `path` (normalised, absolute) is `root` or inside it. */
export function isUnder(path: string, root: string): boolean {
  const r = root.endsWith('/') ? root : `${root}/`;
  return path === root || path.startsWith(r);
}

type Answer = Omit<SourceResponseFrame, 'type' | 'v' | 'requestId'>;

/**
 * Source browsing on the agent: lists the files the runtime has loaded (the scripts, and the original sources their
 * source maps name, e.g. TypeScript) and returns the text of one of them. Only listed files are ever read, never a
 * file from `node_modules`, the agent itself or the blocklist; the text is redacted with the agent's rules (value
 * patterns, and string literals assigned to sensitive names) and cut at the size limit. Never throws.
 */
export class SourceCatalog {
  private readonly maxTextBytes: number;
  private readonly maxFiles: number;
  private readonly maxConcurrentReads: number;
  private reading = 0;
  /** Where originals may be read from disk (normalised); undefined until `resolveRoots()`: none. */
  private roots: string[] | undefined;
  /** The same, links resolved (what a file's real path is checked against). */
  private realRoots: string[] = [];

  constructor(
    private readonly scripts: ScriptRegistry,
    private readonly redactor: Redactor,
    private readonly options: SourceCatalogOptions,
  ) {
    this.maxTextBytes = Math.min(options.maxTextBytes ?? SOURCE_LIMITS.maxTextBytes, SOURCE_LIMITS.maxTextBytes);
    this.maxFiles = Math.min(options.maxFiles ?? SOURCE_LIMITS.maxFiles, SOURCE_LIMITS.maxFiles);
    this.maxConcurrentReads = options.maxConcurrentReads ?? 4;
    if (options.roots !== undefined) this.roots = options.roots.map((r) => normalisePath(r));
  }

  /** Works out the default root once (the configured roots need no work). */
  private async resolveRoots(): Promise<void> {
    if (this.roots === undefined) {
      const root = this.options.paths?.root ?? (await appRoot(this.options.main, this.options.cwd ?? process.cwd()));
      this.roots = root === null ? [] : [root];
    }
    if (this.realRoots.length === 0 && this.roots.length > 0)
      this.realRoots = await Promise.all(this.roots.map((r) => realpath(r).then(normalisePath, () => r)));
  }

  /** An original on disk may be shown only under a root: a map naming `/etc/passwd` shows nothing. */
  private underRoot(path: string): boolean {
    return (this.roots ?? []).some((r) => isUnder(path, r));
  }

  /**
   * Every file that can be shown, by the name it is listed under (see {@link SourcePaths}). Originals win over a
   * script of the same path.
   */
  entries(): Map<string, Entry> {
    const out = new Map<string, Entry>();
    const skip = (p: string): boolean => p.includes('/node_modules/') || isAgentOwnFile(p) || this.options.blocked(p);
    for (const script of this.scripts.all()) {
      if (!script.path) continue;
      const own = normalisePath(script.path);
      if (skip(own)) continue;
      const name = this.paths.name(own);
      if (!out.has(name)) out.set(name, { file: { path: name, original: false }, diskPath: script.path });
      this.addOriginals(script, out, skip);
    }
    return out;
  }

  private get paths(): SourcePaths {
    return this.options.paths ?? ABSOLUTE_PATHS;
  }

  private addOriginals(script: ScriptInfo, out: Map<string, Entry>, skip: (p: string) => boolean): void {
    if (!script.sourceMapURL) return;
    const info = this.scripts.mapOf(script);
    if (!info) return;
    info.paths.forEach((p, i) => {
      if (p === '' || skip(p)) return;
      const embedded = info.sourcesContent?.[i] ?? undefined;
      const name = this.paths.name(p);
      const entry: Entry = { file: { path: name, original: true } };
      if (typeof embedded === 'string') entry.embedded = embedded;
      else if (isAbsolute(p) && this.underRoot(p)) entry.diskPath = p;
      else return; // Neither embedded nor a file of the app: nothing to show.
      const prev = out.get(name);
      if (prev === undefined || !prev.file.original) out.set(name, entry);
    });
  }

  list(): SourceFile[] {
    return [...this.entries().values()]
      .map((e) => e.file)
      .sort((a, b) => a.path.localeCompare(b.path))
      .slice(0, this.maxFiles);
  }

  async read(path: string): Promise<Answer> {
    const wanted = normalisePath(path);
    if (this.options.blocked(wanted) || this.options.blocked(path)) {
      return { error: { code: 'FORBIDDEN', message: `${path} is on the agent's blocklist` } };
    }
    await this.resolveRoots();
    // Asked for by its listed name, or by its absolute path.
    const entry = this.entries().get(this.paths.name(wanted));
    if (entry === undefined)
      return {
        error: {
          code: 'NOT_FOUND',
          message: `${path} is not a source this agent has loaded (or lies outside the app's root)`,
        },
      };
    let text: string;
    let truncated = false;
    if (entry.embedded !== undefined) {
      text = entry.embedded;
    } else if (entry.diskPath !== undefined) {
      if (this.reading >= this.maxConcurrentReads) {
        return { error: { code: 'UNAVAILABLE', message: 'the agent is busy reading other files; retry' } };
      }
      this.reading++;
      try {
        // A link under the root may point outside it: what counts is where the file really is.
        const real = normalisePath(await realpath(entry.diskPath));
        if (entry.file.original && !this.realRoots.some((r) => isUnder(real, r)))
          return { error: { code: 'FORBIDDEN', message: `${path} leads outside the app's root` } };
        const r = await readHead(entry.diskPath, this.maxTextBytes);
        text = r.text;
        truncated = r.truncated;
      } catch (err) {
        return {
          error: {
            code: 'NOT_FOUND',
            message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          },
        };
      } finally {
        this.reading--;
      }
    } else {
      return { error: { code: 'NOT_FOUND', message: `no text is available for ${path}` } };
    }
    const cut = cutToBytes(text, this.maxTextBytes);
    text = redactSource(cut.text, this.redactor);
    truncated ||= cut.truncated;
    if (text.length > this.maxTextBytes) {
      text = text.slice(0, this.maxTextBytes);
      truncated = true;
    }
    return { path: entry.file.path, text, truncated };
  }

  /** Answers one `source_request`; the result fits in one frame. */
  async answer(frame: SourceRequestFrame): Promise<SourceResponseFrame> {
    const base: Pick<SourceResponseFrame, 'type' | 'v' | 'requestId'> = {
      type: 'source_response',
      v: PROTOCOL_VERSION,
      requestId: frame.requestId,
    };
    let answer: Answer;
    try {
      // Listing and reading need every map read: in slices, not in one stall of the host.
      await this.scripts.readMaps();
      await this.resolveRoots();
      if (frame.op === 'list') answer = { files: this.list() };
      else if (frame.path === undefined) answer = { error: { code: 'INVALID_INPUT', message: 'read needs a path' } };
      else answer = await this.read(frame.path);
    } catch (err) {
      answer = {
        error: { code: 'UNAVAILABLE', message: `source request failed: ${(err as Error).message}`.slice(0, 2048) },
      };
    }
    const response: SourceResponseFrame = { ...base, ...answer };
    // JSON escaping can make the frame larger than the text: cut further until it fits.
    const limit = WIRE_LIMITS.maxFrameBytes - 4096;
    while (response.text !== undefined && Buffer.byteLength(JSON.stringify(response)) > limit) {
      response.text = response.text.slice(0, Math.floor(response.text.length * 0.8));
      response.truncated = true;
    }
    while (
      response.files !== undefined &&
      response.files.length > 0 &&
      Buffer.byteLength(JSON.stringify(response)) > limit
    ) {
      response.files = response.files.slice(0, Math.floor(response.files.length * 0.8));
    }
    return response;
  }
}

/** Reads at most `maxBytes` of a file. */
async function readHead(path: string, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buf, done, length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { text: stripBrokenTail(buf.subarray(0, done).toString('utf8')), truncated: size > maxBytes };
  } finally {
    await handle.close();
  }
}

/** The beginning of `text` that fits in `maxBytes` of UTF-8. */
export function cutToBytes(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  return { text: stripBrokenTail(Buffer.from(text).subarray(0, maxBytes).toString('utf8')), truncated: true };
}

function stripBrokenTail(text: string): string {
  return text.replace(/\uFFFD+$/, '');
}

/** An identifier, then `=` or `:`, then the opening quote of a string literal (`password: "…"`, `apiKey = '…'`). */
const ASSIGNED_STRING = /([A-Za-z_$][\w$]*)["']?\s*[:=]\s*(["'`])/g;

/**
 * Redacts a source text line by line: the agent's value patterns (tokens, card numbers…), and the content of string
 * literals assigned to a sensitive name. Linear in the length of the text.
 */
export function redactSource(text: string, redactor: Redactor): string {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.length === 0) continue;
    line = redactor.redactString(line).value;
    let out = '';
    let from = 0;
    ASSIGNED_STRING.lastIndex = 0;
    for (let m = ASSIGNED_STRING.exec(line); m !== null; m = ASSIGNED_STRING.exec(line)) {
      const start = m.index + m[0].length;
      if (!redactor.isSensitiveName(m[1])) continue;
      const quote = m[2] ?? '"';
      let end = start;
      while (end < line.length && line[end] !== quote) end += line[end] === '\\' ? 2 : 1;
      if (end >= line.length || end === start) continue;
      out += line.slice(from, start) + REDACTED;
      from = end;
      ASSIGNED_STRING.lastIndex = end + 1;
    }
    lines[i] = out + line.slice(from);
  }
  return lines.join('\n');
}
