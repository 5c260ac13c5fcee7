/** Display helpers shared by every page. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 s ago", "5 min ago", "in 2 h"… */
export function relativeTime(ms: number, now = Date.now()): string {
  const diff = ms - now;
  const a = Math.abs(diff);
  const unit =
    a < 1000
      ? 'now'
      : a < 60_000
        ? `${Math.round(a / 1000)} s`
        : a < 3_600_000
          ? `${Math.round(a / 60_000)} min`
          : a < 86_400_000
            ? `${Math.round(a / 3_600_000)} h`
            : `${Math.round(a / 86_400_000)} d`;
  if (unit === 'now') return 'just now';
  return diff < 0 ? `${unit} ago` : `in ${unit}`;
}

export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** `file:line` with the file shortened to its last two segments. */
export function shortLocation(file: string, line: number, endLine?: number): string {
  const parts = file.split('/');
  return `${parts.slice(-2).join('/')}:${lineRange(line, endLine)}`;
}

/** `40`, or `40–52` for a range (a tic-toc metric times the code from its line to its end line). */
export function lineRange(line: number, endLine?: number): string {
  return endLine === undefined ? String(line) : `${line}–${endLine}`;
}

/** The end line of an action that has one (a tic-toc metric). */
export function endLineOf(a: { kind: string; endLine?: number | undefined }): number | undefined {
  return a.kind === 'metric' ? a.endLine : undefined;
}

/** Where an agent runs: `host:pid`, plus the worker thread when it is not the main thread. */
export function processLabel(a: { hostname: string; pid: number; threadId: number }): string {
  return `${a.hostname}:${a.pid}${a.threadId === 0 ? '' : ` thread ${a.threadId}`}`;
}
