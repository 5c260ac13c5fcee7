/**
 * Two hub processes on one database: exactly one runs each singleton job, and when that replica is killed (SIGKILL,
 * no clean hand-over) the other takes its jobs over once the lease expires. Leadership is read from each replica's
 * `/metrics` (`spyglass_scheduler_leader{job}`), as an operator would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  scratchDatabase,
  startHubProcess,
  testDatabases,
  waitFor,
  type HubProcess,
  type ScratchDatabase,
} from './kit/index.js';

const LEASE_TTL_MS = 3000;
const JOBS = [
  'audit.retention',
  'audit.stream',
  'auth.session-sweep',
  'k8s.retention',
  'live.agent-retention',
  'live.ended-actions',
  'sso.pending-sweep',
  'tests.stale-runs',
  'traces.retention',
];

const running: HubProcess[] = [];
let scratch: ScratchDatabase | undefined;
afterEach(async () => {
  for (const r of running.splice(0)) r.kill();
  await scratch?.drop();
  scratch = undefined;
});

/** The singleton jobs this replica says it leads (`spyglass_scheduler_leader{job} 1`); null when it does not answer. */
async function leads(replica: HubProcess): Promise<string[] | null> {
  try {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    return [...text.matchAll(/^spyglass_scheduler_leader\{job="([^"]+)"\} 1$/gm)].map((m) => m[1]!).sort();
  } catch {
    return null;
  }
}

/** Every database alone (leases in the database); PostgreSQL with Redis too when both are set (leases in Redis). */
const setups = [
  ...testDatabases().map((db) => ({ db, name: db.dialect, redisUrl: undefined as string | undefined })),
  ...testDatabases()
    .filter((db) => db.dialect === 'postgres' && process.env.TEST_REDIS_URL !== undefined)
    .map((db) => ({ db, name: 'postgres with Redis', redisUrl: process.env.TEST_REDIS_URL })),
];

describe.each(setups)('singleton jobs across two hub replicas on $name', ({ db, redisUrl }) => {
  it('run on one replica; the other takes them over when the holder is killed', { timeout: 90_000 }, async () => {
    scratch = await scratchDatabase(db, { shareable: true });
    const env: Record<string, string> = {
      SPYGLASS_DATABASE_URL: scratch.url,
      SPYGLASS_ADMIN_PASSWORD: 'a password for the replica test',
      SPYGLASS_LEASE_TTL_MS: String(LEASE_TTL_MS),
      SPYGLASS_LOG_LEVEL: 'warn',
      ...(redisUrl === undefined
        ? {}
        : { SPYGLASS_REDIS_URL: redisUrl, SPYGLASS_REDIS_CHANNEL_PREFIX: `sg-takeover-${Date.now().toString(36)}` }),
    };
    // The first replica migrates the database; the second starts on it.
    const a = await startHubProcess(env, { name: 'replica a' });
    running.push(a);
    const b = await startHubProcess(env, { name: 'replica b' });
    running.push(b);

    // Every singleton job is led by exactly one replica.
    const split = await waitFor(
      async () => {
        const [la, lb] = await Promise.all([leads(a), leads(b)]);
        if (la === null || lb === null) return null;
        return JSON.stringify([...la, ...lb].sort()) === JSON.stringify(JOBS) ? [la, lb] : null;
      },
      { what: 'each singleton job to have exactly one leader', timeoutMs: 20_000 },
    );
    // Kill the replica that leads live.ended-actions, without letting it release anything.
    const holder = split[0]!.includes('live.ended-actions') ? 0 : 1;
    const victim = [a, b][holder]!;
    const survivor = [a, b][1 - holder]!;
    const killedAt = Date.now();
    victim.kill();
    await victim.exited;

    const takenMs = await waitFor(
      async () => {
        const l = await leads(survivor);
        return l !== null && JOBS.every((j) => l.includes(j)) ? Date.now() - killedAt : null;
      },
      { what: 'the surviving replica to lead every singleton job', timeoutMs: LEASE_TTL_MS + 15_000 },
    );
    // Not before the killed holder's lease could have expired (it renews every third of the TTL): nobody stole it.
    expect(takenMs).toBeGreaterThanOrEqual(LEASE_TTL_MS / 3);
  });
});
