/**
 * Two replica processes share one database and run one singleton job: only the lease holder runs it; when the holder
 * is killed (SIGKILL, no chance to release) the other takes the job over once the lease has expired; a replica that
 * stops cleanly (SIGTERM) releases the lease and another takes over. Runs on a SQLite file, on PostgreSQL and
 * MySQL/MariaDB when their URLs are set, and with the leases in Redis when TEST_REDIS_URL is set. Needs the built
 * `dist` (`npx tsc -b`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createStorage } from '../../src/storage/db.js';
import { scratchDatabase, testDatabases, type ScratchDatabase, type TestDatabase } from '../kit/index.js';

const REPLICA = fileURLToPath(new URL('./replica.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/platform/scheduler.js', import.meta.url));
const TTL_MS = 1500;
/** Beyond the lease's lifetime: the follower's next lease check (TTL/3 + a tick) and a busy machine's delays. */
const TAKEOVER_MARGIN_MS = 6000;
const REDIS_URL = process.env.TEST_REDIS_URL;
if (!REDIS_URL) console.warn('[spyglass tests] TEST_REDIS_URL not set: the Redis lease takeover test is SKIPPED');

interface Case {
  name: string;
  database: TestDatabase;
  /** Leases in Redis (the database then only holds the hub's other tables). */
  redis?: { url: string; prefix: string };
}

const CASES: Case[] = [
  ...testDatabases().map((database) => ({ name: database.dialect, database })),
  ...(REDIS_URL === undefined
    ? []
    : [
        {
          name: 'redis',
          database: { dialect: 'sqlite' as const, serverUrl: 'sqlite::memory:' },
          redis: { url: REDIS_URL, prefix: `sg-takeover-${randomBytes(4).toString('hex')}` },
        },
      ]),
];

interface Replica {
  holder: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Run {
  holder: string;
  at: number;
}

function readRuns(file: string): Run[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [holder, at] = l.split(' ');
      return { holder: holder!, at: Number(at) };
    });
}

function startReplica(holder: string, databaseUrl: string, runsFile: string, redis?: Case['redis']): Promise<Replica> {
  const child = spawn(process.execPath, [REPLICA], {
    env: {
      PATH: process.env.PATH ?? '',
      LEASE_TEST_DATABASE_URL: databaseUrl,
      LEASE_TEST_RUNS_FILE: runsFile,
      LEASE_TEST_HOLDER: holder,
      LEASE_TEST_TTL_MS: String(TTL_MS),
      ...(redis === undefined ? {} : { LEASE_TEST_REDIS_URL: redis.url, LEASE_TEST_REDIS_PREFIX: redis.prefix }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': it comes once the replica's output is read to the end, so what it said last can be checked.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${holder} did not start:\n${out}`)), 30_000);
    child.stdout.on('data', () => {
      if (!out.includes('"msg":"replica ready"')) return;
      clearTimeout(timer);
      resolve({ holder, child, output: () => out, exited });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`replica ${holder} exited with ${code}:\n${out}`));
    });
  });
}

/** Waits until `holder` has run the job `count` more times than now, and returns every run from here on. */
async function moreRuns(file: string, holder: string, count: number): Promise<Run[]> {
  const from = readRuns(file).length;
  return until(() => {
    const later = readRuns(file).slice(from);
    return later.filter((r) => r.holder === holder).length >= count ? later : undefined;
  }, `${count} more runs by ${holder}`);
}

/** Waits for the first run by `holder` and returns it. */
function firstRunBy(file: string, holder: string): Promise<Run> {
  return until(() => readRuns(file).find((r) => r.holder === holder), `a first run by ${holder}`);
}

if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first with \`npx tsc -b\``);

describe.each(CASES)('a singleton job across two replica processes, leases on $name', ({ name, database, redis }) => {
  const dirs: string[] = [];
  const scratches: ScratchDatabase[] = [];
  afterAll(async () => {
    for (const s of scratches) await s.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A migrated database both replicas can open, and the file their job writes to. */
  async function setUp(): Promise<{ url: string; runsFile: string }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-lease-takeover-'));
    dirs.push(dir);
    let url = `sqlite:${path.join(dir, 'hub.db')}`;
    if (database.dialect !== 'sqlite') {
      const scratch = await scratchDatabase(database);
      scratches.push(scratch);
      url = scratch.url;
    }
    // Migrated once up front, as a hub replica does before it starts its scheduler.
    const storage = createStorage(url);
    await storage.migrate();
    await storage.close();
    return { url, runsFile: path.join(dir, 'runs.txt') };
  }

  it('runs on the holder only; the other replica takes over within the lease TTL once the holder is killed', async () => {
    const { url, runsFile } = await setUp();
    const a = await startReplica('replica-a', url, runsFile, redis);
    await firstRunBy(runsFile, 'replica-a');
    const b = await startReplica('replica-b', url, runsFile, redis);
    // While a lives, b gets nothing: a keeps renewing over several of b's lease checks (every TTL/3).
    const whileBoth = await moreRuns(runsFile, 'replica-a', 15);
    expect(whileBoth.filter((r) => r.holder === 'replica-b')).toEqual([]);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    const takeover = await firstRunBy(runsFile, 'replica-b');
    const takeoverMs = takeover.at - killedAt;
    console.log(`[lease takeover on ${name}] b took the job over ${takeoverMs} ms after a was killed`);
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + TAKEOVER_MARGIN_MS);
    // Every run before the takeover was a's, every one after it is b's: never both at once.
    const runs = readRuns(runsFile);
    const firstB = runs.findIndex((r) => r.holder === 'replica-b');
    expect(runs.slice(0, firstB).every((r) => r.holder === 'replica-a')).toBe(true);
    expect(runs.slice(firstB).every((r) => r.holder === 'replica-b')).toBe(true);
    // Its log line comes through a pipe, which can arrive after the run it wrote to the file.
    await until(() => (b.output().includes('took the lease of a singleton job') ? true : undefined), "b's lease log");

    // b stops cleanly: it releases the lease, and a replica started meanwhile takes over.
    const c = await startReplica('replica-c', url, runsFile, redis);
    const whileBC = await moreRuns(runsFile, 'replica-b', 15);
    expect(whileBC.filter((r) => r.holder === 'replica-c')).toEqual([]);
    const stoppedAt = Date.now();
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(b.output()).toContain('released the lease of a singleton job');
    const handover = await firstRunBy(runsFile, 'replica-c');
    console.log(`[lease takeover on ${name}] c took the job over ${handover.at - stoppedAt} ms after b was stopped`);
    expect(handover.at - stoppedAt).toBeLessThanOrEqual(TTL_MS + TAKEOVER_MARGIN_MS);
    await moreRuns(runsFile, 'replica-c', 3);
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  }, 120_000);
});
