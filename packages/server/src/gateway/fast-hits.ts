import { LOG_LEVELS, PROTOCOL_VERSION, WIRE_LIMITS, type HitsFrame, type LogHit } from '@spyglass/protocol';

const LOG_KEYS = new Set(['actionId', 'at', 'level', 'message', 'traceId', 'spanId']);
const FRAME_KEYS = new Set(['type', 'v', 'logs', 'snapshots', 'metrics', 'dropped']);
const LEVELS = new Set<string>(LOG_LEVELS);
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

const isEpochMs = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype;
const isEmptyOrAbsent = (x: unknown): boolean => x === undefined || (Array.isArray(x) && x.length === 0);

function isLogHit(x: unknown): x is LogHit {
  if (!isObject(x)) return false;
  for (const k in x) if (!LOG_KEYS.has(k)) return false;
  const { actionId, at, level, message, traceId, spanId } = x;
  return (
    typeof actionId === 'string' &&
    actionId.length >= 1 &&
    actionId.length <= 64 &&
    isEpochMs(at) &&
    typeof level === 'string' &&
    LEVELS.has(level) &&
    typeof message === 'string' &&
    message.length <= 65536 &&
    (!('traceId' in x) || (typeof traceId === 'string' && TRACE_ID.test(traceId))) &&
    (!('spanId' in x) || (typeof spanId === 'string' && SPAN_ID.test(spanId)))
  );
}

/**
 * The common shape of a `hits` frame, log lines only, checked without zod: every rule of `hitsFrameSchema` for that
 * shape, and nothing more lenient. Anything else (snapshots, metrics, unknown keys, anything invalid) answers null,
 * and the caller validates with the zod schema, which accepts it or explains what is wrong.
 */
export function parseLogHitsFrame(value: Record<string, unknown>): HitsFrame | null {
  for (const k in value) if (!FRAME_KEYS.has(k)) return null;
  const { type, v, logs, snapshots, metrics, dropped } = value;
  if (type !== 'hits' || v !== PROTOCOL_VERSION) return null;
  if (!Array.isArray(logs) || logs.length > WIRE_LIMITS.maxBatchItems) return null;
  if (!isEmptyOrAbsent(snapshots) || !isEmptyOrAbsent(metrics)) return null;
  if (dropped !== undefined && !isEpochMs(dropped)) return null;
  for (const l of logs) if (!isLogHit(l)) return null;
  return {
    type: 'hits',
    v: PROTOCOL_VERSION,
    logs: logs as LogHit[],
    snapshots: [],
    metrics: [],
    dropped: dropped ?? 0,
  };
}
