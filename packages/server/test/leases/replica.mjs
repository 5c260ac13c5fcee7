/**
 * A hub replica reduced to what leases need: a Storage on the shared database, a Scheduler on it, and one singleton
 * job that appends `<holder> <now>` to a file at each run. Run from the built `dist` (`npx tsc -b`).
 *
 * Environment: LEASE_TEST_DATABASE_URL, LEASE_TEST_RUNS_FILE, LEASE_TEST_HOLDER, LEASE_TEST_TTL_MS, and
 * LEASE_TEST_REDIS_URL with LEASE_TEST_REDIS_PREFIX to keep the leases in Redis instead of the database.
 * SIGTERM stops the scheduler (releasing the lease) and exits 0; SIGKILL is the crash the test is about.
 */
import { appendFileSync } from 'node:fs';
import pino from 'pino';
import { RedisLeaseStore, SqlLeaseStore } from '../../dist/platform/lease.js';
import { Scheduler } from '../../dist/platform/scheduler.js';
import { createStorage } from '../../dist/storage/db.js';

const env = process.env;
const holderId = env.LEASE_TEST_HOLDER ?? 'replica';
const runsFile = env.LEASE_TEST_RUNS_FILE;
if (env.LEASE_TEST_DATABASE_URL === undefined || runsFile === undefined) {
  console.error('LEASE_TEST_DATABASE_URL and LEASE_TEST_RUNS_FILE are required');
  process.exit(2);
}

const log = pino({ level: 'info', base: { holder: holderId } });
const storage = createStorage(env.LEASE_TEST_DATABASE_URL);
const redis =
  env.LEASE_TEST_REDIS_URL === undefined
    ? undefined
    : new RedisLeaseStore({ url: env.LEASE_TEST_REDIS_URL, keyPrefix: env.LEASE_TEST_REDIS_PREFIX ?? 'sg-test', log });
const scheduler = new Scheduler({
  leases: redis ?? new SqlLeaseStore(storage.db, storage.dialect),
  holderId,
  log,
  tickMs: 100,
  leaseTtlMs: Number(env.LEASE_TEST_TTL_MS ?? 1500),
});
scheduler.add({
  name: 'test.takeover',
  everyMs: 100,
  singleton: true,
  run(now) {
    // One small O_APPEND write per run: lines of the two processes never mix.
    appendFileSync(runsFile, `${holderId} ${now}\n`);
  },
});
scheduler.start();
// The scheduler's timer is unref'd, as in the hub; this one keeps the process alive like the hub's listener does.
const keepAlive = setInterval(() => {}, 60_000);

process.once('SIGTERM', () => {
  clearInterval(keepAlive);
  scheduler
    .stop()
    .then(() => Promise.all([storage.close(), redis?.close()]))
    .then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
});
log.info('replica ready');
