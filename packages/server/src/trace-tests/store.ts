import { SpyglassError, type Page, type Span } from '@spyglass/protocol';
import type {
  Resource,
  ResourceType,
  RunState,
  StoredResource,
  SuiteRun,
  SuiteRunState,
  TestRun,
  TestSummary,
} from '@spyglass/trace-tests';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import { keysetPage } from '../storage/paging.js';

/** Secret values of a VariableSet are kept for runs but never answered. */
export function blankSecrets(resource: Resource): Resource {
  if (resource.type !== 'VariableSet') return resource;
  return {
    ...resource,
    spec: {
      ...resource.spec,
      values: resource.spec.values.map((v) => (v.type === 'secret' ? { ...v, value: '' } : v)),
    },
  };
}

interface ResourceRow {
  type: string;
  id: string;
  name: string;
  version: number;
  spec: string;
  created_at: number;
  updated_at: number;
  updated_by: string | null;
}

function storedFromRow(row: ResourceRow): StoredResource {
  return {
    type: row.type as ResourceType,
    id: row.id,
    name: row.name,
    version: Number(row.version),
    resource: blankSecrets(JSON.parse(row.spec) as Resource),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    updatedBy: row.updated_by,
  };
}

/** What a run keeps besides its searched columns. */
type RunData = Pick<
  TestRun,
  'testName' | 'triggerSpanId' | 'lastError' | 'trigger' | 'outputs' | 'results' | 'variables' | 'spanCount' | 'timings'
>;

interface RunRow {
  id: string;
  test_id: string;
  run_number: number;
  test_version: number;
  suite_run_id: string | null;
  state: string;
  trace_id: string;
  passed: number | null;
  created_at: number;
  finished_at: number | null;
  created_by: string | null;
  data: string;
}

function runFromRow(row: RunRow): TestRun {
  const d = JSON.parse(row.data) as RunData;
  return {
    id: row.id,
    testId: row.test_id,
    testName: d.testName,
    testVersion: Number(row.test_version),
    runNumber: Number(row.run_number),
    suiteRunId: row.suite_run_id,
    state: row.state as RunState,
    traceId: row.trace_id,
    triggerSpanId: d.triggerSpanId,
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    lastError: d.lastError,
    trigger: d.trigger,
    outputs: d.outputs,
    results: d.results,
    passed: row.passed === null ? null : Number(row.passed) === 1,
    variables: d.variables,
    spanCount: d.spanCount,
    timings: d.timings,
    createdBy: row.created_by,
  };
}

function runData(run: TestRun): string {
  const d: RunData = {
    testName: run.testName,
    triggerSpanId: run.triggerSpanId,
    lastError: run.lastError,
    trigger: run.trigger,
    outputs: run.outputs,
    results: run.results,
    variables: run.variables,
    spanCount: run.spanCount,
    timings: run.timings,
  };
  return JSON.stringify(d);
}

type SuiteRunData = Pick<SuiteRun, 'suiteName' | 'lastError' | 'variables'> & { stepRunIds: string[] };

interface SuiteRunRow {
  id: string;
  suite_id: string;
  run_number: number;
  suite_version: number;
  state: string;
  passed: number | null;
  created_at: number;
  finished_at: number | null;
  data: string;
}

const isUniqueViolation = (err: unknown): boolean =>
  /unique|duplicate|constraint/i.test((err as { message?: string }).message ?? '') ||
  (err as { code?: string }).code === '23505' ||
  (err as { code?: string }).code === 'ER_DUP_ENTRY';

/** Resources (every version kept) and runs of trace-based tests, on the hub's database. */
export class TestStore {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- resources ----

  /**
   * Creates or updates every resource in one transaction: a resource whose definition did not change keeps its
   * version (`unchanged`); any other change is a new version.
   */
  async apply(
    resources: readonly Resource[],
    userId: string | null,
    nowMs: number,
  ): Promise<
    { type: ResourceType; id: string; name: string; version: number; outcome: 'created' | 'updated' | 'unchanged' }[]
  > {
    return this.db.transaction().execute(async (tx) => {
      const out: {
        type: ResourceType;
        id: string;
        name: string;
        version: number;
        outcome: 'created' | 'updated' | 'unchanged';
      }[] = [];
      for (const resource of resources) {
        const { type } = resource;
        const { id, name } = resource.spec;
        let spec = JSON.stringify(resource);
        const current = await tx
          .selectFrom('test_resources')
          .select(['version', 'spec'])
          .where('type', '=', type)
          .where('id', '=', id)
          .executeTakeFirst();
        if (current !== undefined && resource.type === 'VariableSet') {
          // A secret sent back blank (as it was answered) keeps its stored value.
          const old = JSON.parse(current.spec) as Resource;
          if (old.type === 'VariableSet') {
            const merged = {
              ...resource,
              spec: {
                ...resource.spec,
                values: resource.spec.values.map((v) => {
                  if (v.type !== 'secret' || v.value !== '') return v;
                  const prev = old.spec.values.find((o) => o.key === v.key && o.type === 'secret');
                  return prev === undefined ? v : { ...v, value: prev.value };
                }),
              },
            };
            spec = JSON.stringify(merged);
          }
        }
        if (current !== undefined && current.spec === spec) {
          out.push({ type, id, name, version: Number(current.version), outcome: 'unchanged' });
          continue;
        }
        const version = current === undefined ? 1 : Number(current.version) + 1;
        if (current === undefined)
          await tx
            .insertInto('test_resources')
            .values({ type, id, name, version, spec, created_at: nowMs, updated_at: nowMs, updated_by: userId })
            .execute();
        else
          await tx
            .updateTable('test_resources')
            .set({ name, version, spec, updated_at: nowMs, updated_by: userId })
            .where('type', '=', type)
            .where('id', '=', id)
            .execute();
        await tx
          .insertInto('test_resource_versions')
          .values({ type, id, version, spec, created_at: nowMs, created_by: userId })
          .execute();
        out.push({ type, id, name, version, outcome: current === undefined ? 'created' : 'updated' });
      }
      return out;
    });
  }

  /** The stored definition with secrets (for runs), or undefined. */
  async definition(type: ResourceType, id: string): Promise<{ resource: Resource; version: number } | undefined> {
    const row = await this.db
      .selectFrom('test_resources')
      .select(['spec', 'version'])
      .where('type', '=', type)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : { resource: JSON.parse(row.spec) as Resource, version: Number(row.version) };
  }

  async get(type: ResourceType, id: string, version?: number): Promise<StoredResource> {
    const row = await this.db
      .selectFrom('test_resources')
      .selectAll()
      .where('type', '=', type)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `${type} ${JSON.stringify(id)} not found`);
    if (version === undefined || version === Number(row.version)) return storedFromRow(row);
    const old = await this.db
      .selectFrom('test_resource_versions')
      .selectAll()
      .where('type', '=', type)
      .where('id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (old === undefined)
      throw new SpyglassError('NOT_FOUND', `${type} ${JSON.stringify(id)} has no version ${version}`);
    return storedFromRow({
      ...row,
      name: (JSON.parse(old.spec) as Resource).spec.name,
      version: old.version,
      spec: old.spec,
      updated_at: old.created_at,
      updated_by: old.created_by,
    });
  }

  async list(type: ResourceType, cursor: string | undefined, limit: number): Promise<Page<StoredResource>> {
    const page = await keysetPage(
      this.db.selectFrom('test_resources').selectAll().where('type', '=', type),
      [
        ['name', 'asc', 'string'],
        ['id', 'asc', 'string'],
      ],
      cursor,
      limit,
    );
    return { items: page.items.map(storedFromRow), nextCursor: page.nextCursor };
  }

  /** Removes a resource, its versions and (for a test) its runs. */
  async delete(type: ResourceType, id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const r = await tx.deleteFrom('test_resources').where('type', '=', type).where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0)
        throw new SpyglassError('NOT_FOUND', `${type} ${JSON.stringify(id)} not found`);
      await tx.deleteFrom('test_resource_versions').where('type', '=', type).where('id', '=', id).execute();
      if (type === 'Test') {
        const runs = tx.selectFrom('test_runs').select('id').where('test_id', '=', id);
        await tx.deleteFrom('test_run_traces').where('run_id', 'in', runs).execute();
        await tx.deleteFrom('test_runs').where('test_id', '=', id).execute();
      }
      if (type === 'TestSuite') await tx.deleteFrom('test_suite_runs').where('suite_id', '=', id).execute();
    });
  }

  async listTests(cursor: string | undefined, limit: number): Promise<Page<TestSummary>> {
    const page = await keysetPage(
      this.db.selectFrom('test_resources').selectAll().where('type', '=', 'Test'),
      [
        ['name', 'asc', 'string'],
        ['id', 'asc', 'string'],
      ],
      cursor,
      limit,
    );
    const ids = page.items.map((r) => r.id);
    const last = new Map<string, RunRow>();
    if (ids.length > 0) {
      const latest = this.db
        .selectFrom('test_runs')
        .select(['test_id', (eb) => eb.fn.max('run_number').as('n')])
        .where('test_id', 'in', ids)
        .groupBy('test_id')
        .as('latest');
      const rows = await this.db
        .selectFrom('test_runs')
        .innerJoin(latest, (j) =>
          j.onRef('latest.test_id', '=', 'test_runs.test_id').onRef('latest.n', '=', 'test_runs.run_number'),
        )
        .selectAll('test_runs')
        .execute();
      for (const r of rows) last.set(r.test_id, r);
    }
    return {
      items: page.items.map((row) => {
        const resource = JSON.parse(row.spec) as Resource;
        const spec = resource.type === 'Test' ? resource.spec : undefined;
        const run = last.get(row.id);
        return {
          id: row.id,
          name: row.name,
          description: spec?.description ?? null,
          version: Number(row.version),
          triggerType: spec?.trigger.type ?? 'http',
          specCount: spec?.specs.length ?? 0,
          updatedAt: Number(row.updated_at),
          lastRun:
            run === undefined
              ? null
              : {
                  runNumber: Number(run.run_number),
                  state: run.state as RunState,
                  passed: run.passed === null ? null : Number(run.passed) === 1,
                  createdAt: Number(run.created_at),
                  traceId: run.trace_id,
                },
        };
      }),
      nextCursor: page.nextCursor,
    };
  }

  // ---- runs ----

  /** Inserts a run with the next run number of its test (retrying when another replica took the same number). */
  async createRun(run: Omit<TestRun, 'runNumber'>): Promise<TestRun> {
    for (let attempt = 0; ; attempt++) {
      const max = await this.db
        .selectFrom('test_runs')
        .select((eb) => eb.fn.max('run_number').as('n'))
        .where('test_id', '=', run.testId)
        .executeTakeFirst();
      const full: TestRun = { ...run, runNumber: Number(max?.n ?? 0) + 1 };
      try {
        await this.db
          .insertInto('test_runs')
          .values({
            id: full.id,
            test_id: full.testId,
            run_number: full.runNumber,
            test_version: full.testVersion,
            suite_run_id: full.suiteRunId,
            state: full.state,
            trace_id: full.traceId,
            passed: null,
            created_at: full.createdAt,
            updated_at: full.createdAt,
            finished_at: null,
            created_by: full.createdBy,
            data: runData(full),
          })
          .execute();
        return full;
      } catch (err) {
        if (attempt >= 5 || !isUniqueViolation(err)) throw err;
      }
    }
  }

  async saveRun(run: TestRun, nowMs: number): Promise<void> {
    await this.db
      .updateTable('test_runs')
      .set({
        state: run.state,
        trace_id: run.traceId,
        passed: run.passed === null ? null : run.passed ? 1 : 0,
        updated_at: nowMs,
        finished_at: run.finishedAt,
        data: runData(run),
      })
      .where('id', '=', run.id)
      .execute();
  }

  async touchRuns(ids: readonly string[], nowMs: number): Promise<void> {
    for (let i = 0; i < ids.length; i += 500)
      await this.db
        .updateTable('test_runs')
        .set({ updated_at: nowMs })
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
  }

  async saveSnapshot(runId: string, spans: readonly Span[]): Promise<void> {
    await this.db.deleteFrom('test_run_traces').where('run_id', '=', runId).execute();
    await this.db
      .insertInto('test_run_traces')
      .values({ run_id: runId, spans: JSON.stringify(spans) })
      .execute();
  }

  async snapshot(runId: string): Promise<Span[] | undefined> {
    const row = await this.db
      .selectFrom('test_run_traces')
      .select('spans')
      .where('run_id', '=', runId)
      .executeTakeFirst();
    return row === undefined ? undefined : (JSON.parse(row.spans) as Span[]);
  }

  async getRun(testId: string, runNumber: number): Promise<TestRun> {
    const row = await this.db
      .selectFrom('test_runs')
      .selectAll()
      .where('test_id', '=', testId)
      .where('run_number', '=', runNumber)
      .executeTakeFirst();
    if (row === undefined)
      throw new SpyglassError('NOT_FOUND', `test ${JSON.stringify(testId)} has no run ${runNumber}`);
    return runFromRow(row);
  }

  async runById(id: string): Promise<TestRun | undefined> {
    const row = await this.db.selectFrom('test_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : runFromRow(row);
  }

  async listRuns(testId: string, cursor: string | undefined, limit: number): Promise<Page<TestRun>> {
    const page = await keysetPage(
      this.db.selectFrom('test_runs').selectAll().where('test_id', '=', testId),
      [['run_number', 'desc', 'number']],
      cursor,
      limit,
    );
    return { items: page.items.map(runFromRow), nextCursor: page.nextCursor };
  }

  /** Runs not in a final state whose replica has not touched them since `beforeMs` (their replica stopped). */
  async staleRuns(beforeMs: number): Promise<TestRun[]> {
    const rows = await this.db
      .selectFrom('test_runs')
      .selectAll()
      .where('state', 'in', ['CREATED', 'EXECUTING', 'AWAITING_TRACE', 'AWAITING_TEST_RESULTS'])
      .where('updated_at', '<', beforeMs)
      .limit(100)
      .execute();
    return rows.map(runFromRow);
  }

  // ---- suite runs ----

  async createSuiteRun(run: Omit<SuiteRun, 'runNumber' | 'steps'>): Promise<SuiteRun> {
    for (let attempt = 0; ; attempt++) {
      const max = await this.db
        .selectFrom('test_suite_runs')
        .select((eb) => eb.fn.max('run_number').as('n'))
        .where('suite_id', '=', run.suiteId)
        .executeTakeFirst();
      const full: SuiteRun = { ...run, runNumber: Number(max?.n ?? 0) + 1, steps: [] };
      try {
        await this.db
          .insertInto('test_suite_runs')
          .values({
            id: full.id,
            suite_id: full.suiteId,
            run_number: full.runNumber,
            suite_version: full.suiteVersion,
            state: full.state,
            passed: null,
            created_at: full.createdAt,
            updated_at: full.createdAt,
            finished_at: null,
            created_by: null,
            data: JSON.stringify({
              suiteName: full.suiteName,
              lastError: null,
              variables: full.variables,
              stepRunIds: [],
            } satisfies SuiteRunData),
          })
          .execute();
        return full;
      } catch (err) {
        if (attempt >= 5 || !isUniqueViolation(err)) throw err;
      }
    }
  }

  async saveSuiteRun(run: SuiteRun, nowMs: number): Promise<void> {
    const data: SuiteRunData = {
      suiteName: run.suiteName,
      lastError: run.lastError,
      variables: run.variables,
      stepRunIds: run.steps.map((s) => s.id),
    };
    await this.db
      .updateTable('test_suite_runs')
      .set({
        state: run.state,
        passed: run.passed === null ? null : run.passed ? 1 : 0,
        updated_at: nowMs,
        finished_at: run.finishedAt,
        data: JSON.stringify(data),
      })
      .where('id', '=', run.id)
      .execute();
  }

  async getSuiteRun(suiteId: string, runNumber: number): Promise<SuiteRun> {
    const row = (await this.db
      .selectFrom('test_suite_runs')
      .selectAll()
      .where('suite_id', '=', suiteId)
      .where('run_number', '=', runNumber)
      .executeTakeFirst()) as SuiteRunRow | undefined;
    if (row === undefined)
      throw new SpyglassError('NOT_FOUND', `test suite ${JSON.stringify(suiteId)} has no run ${runNumber}`);
    const d = JSON.parse(row.data) as SuiteRunData;
    const steps: TestRun[] = [];
    for (const id of d.stepRunIds) {
      const r = await this.runById(id);
      if (r !== undefined) steps.push(r);
    }
    return {
      id: row.id,
      suiteId: row.suite_id,
      suiteName: d.suiteName,
      suiteVersion: Number(row.suite_version),
      runNumber: Number(row.run_number),
      state: row.state as SuiteRunState,
      createdAt: Number(row.created_at),
      finishedAt: row.finished_at === null ? null : Number(row.finished_at),
      lastError: d.lastError,
      steps,
      passed: row.passed === null ? null : Number(row.passed) === 1,
      variables: d.variables,
    };
  }
}
