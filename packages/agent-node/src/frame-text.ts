import type { DebugLog } from './debug-log.js';

/**
 * A frame as the text the socket sends, or `undefined` (logged) when it cannot be serialised or is too large. A
 * string is a frame serialised already (a `hits` frame, see `hitsFrameText`).
 */
export function frameText(frame: unknown, maxFrameBytes: number, log: DebugLog): string | undefined {
  let text: string;
  try {
    text = typeof frame === 'string' ? frame : JSON.stringify(frame);
  } catch (err) {
    log('send failed', err);
    return undefined;
  }
  if (text.length > maxFrameBytes) {
    log(`frame of ${text.length} bytes not sent (limit ${maxFrameBytes})`);
    return undefined;
  }
  return text;
}
