import { open, readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import {
  PROTOCOL_VERSION,
  SOURCE_LIMITS,
  WIRE_LIMITS,
  type SourceFile,
  type SourceRequestFrame,
  type SourceResponseFrame,
} from '@spyglass/protocol';
import { normalisePath, type ScriptInfo, type ScriptRegistry } from './locate.js';
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
}

/**
 * The app's root: the nearest directory holding a package.json above the main script (one that says more than its
 * module type), else the working directory;
 * null when that is the file system's root (it would let a source map name any file). Never throws.
 */
export async function appRoot(main: string | undefined, cwd: string): Promise<string | null> {
  let found: string | null = null;
  try {
    if (main !== undefined && main !== '') {
      for (let dir = dirname(await realpath(main)); found === null;) {
        if (await isPackageRoot(join(dir, 'package.json'))) found = dir;
        const up = dirname(dir);
        if (up === dir) break;
        dir = up;
      }
    }
  } catch {
    // No main script to start from: the working directory.
  }
  try {
    found ??= await realpath(cwd);
  } catch {
    return null;
  }
  const root = normalisePath(found);
  return root === '' || root === '/' || /^[A-Za-z]:\/?$/.test(root) ? null : root;
}

/**
 * A package.json that makes its directory a package, not just a module-type marker (`{"type": "commonjs"}` in a
 * build directory, which would leave the sources next to it outside).
 */
async function isPackageRoot(file: string): Promise<boolean> {
  try {
    const json: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof json === 'object' && json !== null && Object.keys(json).some((k) => k !== 'type');
  } catch {
    return false;
  }
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
      const root = await appRoot(this.options.main, this.options.cwd ?? process.cwd());
      this.roots = root === null ? [] : [root];
    }
    if (this.realRoots.length === 0 && this.roots.length > 0)
      this.realRoots = await Promise.all(this.roots.map((r) => realpath(r).then(normalisePath, () => r)));
  }

  /** An original on disk may be shown only under a root: a map naming `/etc/passwd` shows nothing. */
  private underRoot(path: string): boolean {
    return (this.roots ?? []).some((r) => isUnder(path, r));
  }

  /** Every file that can be shown, by path. Originals win over a script of the same path. */
  entries(): Map<string, Entry> {
    const out = new Map<string, Entry>();
    const skip = (p: string): boolean => p.includes('/node_modules/') || isAgentOwnFile(p) || this.options.blocked(p);
    for (const script of this.scripts.all()) {
      if (!script.path) continue;
      const own = normalisePath(script.path);
      if (skip(own)) continue;
      if (!out.has(own)) out.set(own, { file: { path: own, original: false }, diskPath: script.path });
      this.addOriginals(script, out, skip);
    }
    return out;
  }

  private addOriginals(script: ScriptInfo, out: Map<string, Entry>, skip: (p: string) => boolean): void {
    if (!script.sourceMapURL) return;
    const info = this.scripts.mapOf(script);
    if (!info) return;
    info.paths.forEach((p, i) => {
      if (p === '' || skip(p)) return;
      const embedded = info.map.sourcesContent?.[i] ?? undefined;
      const entry: Entry = { file: { path: p, original: true } };
      if (typeof embedded === 'string') entry.embedded = embedded;
      else if (isAbsolute(p) && this.underRoot(p)) entry.diskPath = p;
      else return; // Neither embedded nor a file of the app: nothing to show.
      const prev = out.get(p);
      if (prev === undefined || !prev.file.original) out.set(p, entry);
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
    const entry = this.entries().get(wanted);
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
