import type { AuditSinkStatus } from '@spyglass/protocol';

/** A sink whose oldest unsent event is older than this is behind (a healthy sink sends within a few intervals). */
export const BEHIND_MS = 60_000;

export type SinkState = 'delivering' | 'behind' | 'failing';

/** What a sink is doing now: its last attempt failed, it has old events waiting, or it keeps up. */
export function sinkState(s: AuditSinkStatus, now: number): SinkState {
  if (s.failures > 0) return 'failing';
  if (s.lag > 0 && s.lagSince !== null && now - s.lagSince > BEHIND_MS) return 'behind';
  return 'delivering';
}

/** Whether the audit retention deleted events before this sink had sent them. */
export function fellPastRetention(s: AuditSinkStatus): boolean {
  return s.skipped > 0;
}

/** "12 s", "5 min", "3 h": how old the oldest event behind is. */
export function lagAge(s: AuditSinkStatus, now: number): string | null {
  if (s.lag === 0 || s.lagSince === null) return null;
  const a = Math.max(0, now - s.lagSince);
  if (a < 60_000) return `${Math.round(a / 1000)} s`;
  if (a < 3_600_000) return `${Math.round(a / 60_000)} min`;
  if (a < 86_400_000) return `${Math.round(a / 3_600_000)} h`;
  return `${Math.round(a / 86_400_000)} d`;
}
