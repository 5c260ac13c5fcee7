/**
 * Two hub processes on one database: exactly one runs each singleton job, and when that replica is killed (SIGKILL,
 * no clean hand-over) the other takes its jobs over once the lease expires. Leadership is read from each replica's
 * `/metrics` (`spyglass_scheduler_leader{job}`), as an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { scratchDatabase, testDatabases, type ScratchDatabase } from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const LEASE_TTL_MS = 3000;
const JOBS = ['live.ended-actions', 'auth.session-sweep'];

interface Replica {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startReplica(databaseUrl: string, redis: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, [MAIN, '--port', '0'], {
    env: {
      PATH: process.env.PATH ?? '',
      ...redis,
      SPYGLASS_DATABASE_URL: databaseUrl,
      SPYGLASS_ADMIN_PASSWORD: 'a password for the replica test',
      SPYGLASS_LEASE_TTL_MS: String(LEASE_TTL_MS),
      SPYGLASS_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start:\n${out}`)), 30_000);
    const check = (): void => {
      const m = /Spyglass hub listening on (http:\/\/\S+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolve({ child, url: m[1]!, exited });
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`replica exited before listening:\n${out}`));
    });
  });
}

/** The singleton jobs this replica says it leads (`spyglass_scheduler_leader{job} 1`); null when it does not answer. */
async function leads(replica: Replica): Promise<string[] | null> {
  try {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    return [...text.matchAll(/^spyglass_scheduler_leader\{job="([^"]+)"\} 1$/gm)].map((m) => m[1]!).sort();
  } catch {
    return null;
  }
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
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
  let scratch: ScratchDatabase | undefined;
  afterEach(async () => {
    await scratch?.drop();
    scratch = undefined;
  });

  it('run on one replica; the other takes them over when the holder is killed', { timeout: 90_000 }, async () => {
    let url: string;
    if (db.dialect === 'sqlite') {
      const dir = mkdtempSync(path.join(tmpdir(), 'sg-takeover-'));
      dirs.push(dir);
      url = `sqlite:${path.join(dir, 'hub.db')}`;
    } else {
      scratch = await scratchDatabase(db);
      url = scratch.url;
    }
    const redis: Record<string, string> =
      redisUrl === undefined
        ? {}
        : { SPYGLASS_REDIS_URL: redisUrl, SPYGLASS_REDIS_CHANNEL_PREFIX: `sg-takeover-${Date.now().toString(36)}` };
    // The first replica migrates the database; the second starts on it.
    const a = await startReplica(url, redis);
    const b = await startReplica(url, redis);
    const replicas = [a, b];

    // Every singleton job is led by exactly one replica.
    const split = await waitFor('each singleton job to have one leader', 20_000, async () => {
      const [la, lb] = await Promise.all([leads(a), leads(b)]);
      if (la === null || lb === null) return null;
      const all = [...la, ...lb].sort();
      return JSON.stringify(all) === JSON.stringify([...JOBS].sort()) ? [la, lb] : null;
    });
    // Kill the replica that leads live.ended-actions, without letting it release anything.
    const holder = split[0]!.includes('live.ended-actions') ? 0 : 1;
    const victim = replicas[holder]!;
    const survivor = replicas[1 - holder]!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;

    const taken = await waitFor('the surviving replica to lead every singleton job', LEASE_TTL_MS + 15_000, async () => {
      const l = await leads(survivor);
      return l !== null && JOBS.every((j) => l.includes(j)) ? Date.now() - killedAt : null;
    });
    // Not before the killed holder's lease could have expired: no replica stole a live lease.
    expect(taken).toBeGreaterThanOrEqual(LEASE_TTL_MS / 3);
  });
});
