import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAction, CapturedValue } from '@spyglass/protocol';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const lazyFile = fileURLToPath(new URL('./lazy.mjs', import.meta.url));
const find = (values: CapturedValue[] | undefined, name: string): CapturedValue | undefined =>
  values?.find((v) => v.name === name);

describe.each(RUNTIMES)('ESM app on $name', (runtime) => {
  let hub: TestHub;
  let app: Scenario;
  const a: Record<string, AgentAction> = {};

  beforeAll(async () => {
    hub = await TestHub.start();
    const L = (m: string): number => lineOf(scenario, m);
    a.log = action({
      kind: 'log',
      file: 'test/esm/scenario.mjs',
      line: L('handle-total'),
      template: 'order {order.id} costs {order.qty * order.price}',
    });
    a.condTrue = action({
      kind: 'log',
      file: 'scenario.mjs',
      line: L('handle-total'),
      template: 'even {order.id}',
      condition: 'order.id % 2 === 0',
    });
    a.condFalse = action({
      kind: 'log',
      file: 'scenario.mjs',
      line: L('handle-total'),
      template: 'never',
      condition: 'order.qty > 100',
    });
    a.method = action({
      kind: 'log',
      file: 'scenario.mjs',
      line: L('cart-add'),
      template: '{this.owner} adds {item.sku.toUpperCase()}',
    });
    a.closure = action({
      kind: 'log',
      file: 'scenario.mjs',
      line: L('greet'),
      template: '{greeting} {name}{punctuation}',
    });
    // Breakpoint mode (the template names `punctuation`, a variable of the enclosing function greet does not use): what the expression
    // or the condition throws must reach the status with its real message.
    a.bpThrows = action({
      kind: 'log',
      file: 'scenario.mjs',
      line: L('greet-shout'),
      template: '{punctuation} {name.missing.deep}',
    });
    a.bpCondThrows = action({
      kind: 'log',
      file: 'scenario.mjs',
      line: L('greet-return'),
      template: '{punctuation}',
      condition: 'name.nothing.here === 1',
    });
    a.invalid = action({ kind: 'log', file: 'scenario.mjs', line: L('greet'), template: 'bad {name = 1}' });
    a.badCall = action({ kind: 'log', file: 'scenario.mjs', line: L('greet'), template: 'bad {process.exit(1)}' });
    a.snapshot = action(
      {
        kind: 'snapshot',
        file: 'scenario.mjs',
        line: L('inspect'),
        expressions: ['user.name', 'many.length', 'user.missing.deep'],
        limits: { maxStringLength: 64, maxArrayItems: 10 },
      },
      { maxHits: 2 },
    );
    a.redactLog = action(
      {
        kind: 'log',
        file: 'scenario.mjs',
        line: L('inspect'),
        template: 'pw={user.password} card={card} name={user.name}',
      },
      { maxHits: 3 },
    );
    a.nextStatement = action({ kind: 'log', file: 'scenario.mjs', line: L('spacer-blank'), template: 'n={n}' });
    a.ambiguous = action({ kind: 'log', file: 'util.mjs', line: 2, template: 'x' });
    a.pending = action({ kind: 'log', file: 'lazy.mjs', line: lineOf(lazyFile, 'later'), template: 'later {n}' });
    a.limited = action(
      { kind: 'log', file: 'scenario.mjs', line: L('handle-total'), template: 'limited {order.id}' },
      { maxHits: 3 },
    );
    a.expiring = action(
      { kind: 'log', file: 'scenario.mjs', line: L('cart-add'), template: 'exp' },
      { expiresAt: Date.now() + 1500 },
    );
    a.counter = action({
      kind: 'metric',
      metric: 'counter',
      name: 'handled',
      file: 'scenario.mjs',
      line: L('handle-total'),
    });
    a.gauge = action({
      kind: 'metric',
      metric: 'gauge',
      name: 'cart.size',
      file: 'scenario.mjs',
      line: L('cart-add'),
      expression: 'this.items.length',
    });
    a.tictoc = action({
      kind: 'metric',
      metric: 'tictoc',
      name: 'inspect.time',
      file: 'scenario.mjs',
      line: L('inspect') - 10,
      endLine: L('inspect'),
    });
    a.duration = action({
      kind: 'metric',
      metric: 'duration',
      name: 'handle.time',
      file: 'scenario.mjs',
      line: L('handle-total') - 1,
    });
    a.timedTic = action({
      kind: 'metric',
      metric: 'tictoc',
      name: 'timed.tictoc',
      file: 'scenario.mjs',
      line: L('timed-start'),
      endLine: L('timed-end'),
    });
    a.timedDuration = action({
      kind: 'metric',
      metric: 'duration',
      name: 'timed.duration',
      file: 'scenario.mjs',
      line: L('timed-start') - 1,
    });
    a.riskyDuration = action({
      kind: 'metric',
      metric: 'duration',
      name: 'risky.time',
      file: 'scenario.mjs',
      line: L('risky') - 1,
    });
    a.riskyCount = action({
      kind: 'metric',
      metric: 'counter',
      name: 'risky.calls',
      file: 'scenario.mjs',
      line: L('risky'),
    });
    a.compactCount = action({
      kind: 'metric',
      metric: 'counter',
      name: 'compact.calls',
      file: 'scenario.mjs',
      line: L('compact'),
    });
    a.compactDuration = action({
      kind: 'metric',
      metric: 'duration',
      name: 'compact.time',
      file: 'scenario.mjs',
      line: L('compact'),
    });
    a.timedSnap = action(
      { kind: 'snapshot', file: 'scenario.mjs', line: L('timed-snap'), expressions: ['start'] },
      { maxHits: 3 },
    );
    a.reservedWatch = action({
      kind: 'snapshot',
      file: 'scenario.mjs',
      line: L('timed-snap'),
      expressions: ['typeof __sgT1'],
    });
    a.reservedLog = action({ kind: 'log', file: 'scenario.mjs', line: L('timed-end'), template: '{__sgD2}' });
    a.blocked = action({ kind: 'log', file: 'test/esm/c/blocked.mjs', line: 2, template: 'x' });
    hub.setActions(Object.values(a));
    app = runScenario(
      runtime,
      scenario,
      hubEnv(hub.url, hub.key, { SPYGLASS_BLOCKLIST: '/esm/c/', SPYGLASS_AGENT_DEBUG: '1' }),
    );
    await app.waitForOutput('started');
  });

  afterAll(async () => {
    app.kill();
    await hub.stop();
  });

  it('patches a plain function and logs rendered expressions at the right place', async () => {
    const st = await hub.waitForStatus(a.log!.id, (s) => s.state === 'active');
    expect(st.method).toBe('patch');
    // Named relative to the app's root (the package.json above the main script), as everywhere the agent reports it.
    expect(st.location).toMatchObject({ file: 'test/esm/scenario.mjs', line: lineOf(scenario, 'handle-total') });
    await hub.waitFor('logs', () => hub.logsOf(a.log!.id).length >= 3);
    for (const l of hub.logsOf(a.log!.id)) expect(l.message).toMatch(/^order \d+ costs 10$/);
  });

  it('evaluates conditions: true fires, false never does', async () => {
    await hub.waitFor('even logs', () => hub.logsOf(a.condTrue!.id).length >= 2);
    expect(hub.logsOf(a.condTrue!.id).every((l) => /^even \d*[02468]$/.test(l.message))).toBe(true);
    expect(hub.status(a.condFalse!.id)?.state).toBe('active');
    expect(hub.logsOf(a.condFalse!.id)).toHaveLength(0);
  });

  it('logs in a class method with this and an allowlisted method call', async () => {
    const l = await hub.waitFor('method log', () => hub.logsOf(a.method!.id)[0]);
    expect(l.message).toMatch(/^ann adds SKU-\d+$/);
    expect(hub.status(a.method!.id)?.method).toBe('patch');
  });

  it('uses a breakpoint when a closure names an enclosing variable it does not use', async () => {
    const st = await hub.waitForStatus(a.closure!.id, (s) => s.state === 'active');
    expect(st.method).toBe('breakpoint');
    const l = await hub.waitFor('closure log', () => hub.logsOf(a.closure!.id)[0]);
    expect(l.message).toBe('hello bob!');
  });

  it('reports what a breakpoint expression or condition threw, with its message', async () => {
    const e1 = await hub.waitForStatus(a.bpThrows!.id, (s) => s.state === 'error');
    expect(e1.method).toBe('breakpoint');
    expect(e1.reason).toBe("evaluation failed: TypeError: Cannot read properties of undefined (reading 'deep')");
    const e2 = await hub.waitForStatus(a.bpCondThrows!.id, (s) => s.state === 'error');
    expect(e2.method).toBe('breakpoint');
    expect(e2.reason).toBe("evaluation failed: TypeError: Cannot read properties of undefined (reading 'here')");
    expect(hub.logsOf(a.bpThrows!.id)).toHaveLength(0);
    // The app never saw it.
    const before = app.stdout().match(/tick (\d+)/g)?.length ?? 0;
    await app.waitForOutput(`tick ${(before + 1) * 10}`);
  });

  it('reports invalid expressions as errors and the app keeps running', async () => {
    const bad = await hub.waitForStatus(a.invalid!.id, (s) => s.state === 'error');
    expect(bad.reason).toMatch(/assignment is not allowed/);
    const call = await hub.waitForStatus(a.badCall!.id, (s) => s.state === 'error');
    expect(call.reason).toMatch(/calling exit\(\) is not allowed/);
    const before = app.stdout().match(/tick (\d+)/g)?.length ?? 0;
    await app.waitForOutput(`tick ${(before + 1) * 10}`);
  });

  it('captures a snapshot: locals, watches, limits, cycles, getters not run, redaction', async () => {
    const snap = await hub.waitFor('snapshot', () => hub.snapshots.find((s) => s.actionId === a.snapshot!.id));
    const top = snap.frames[0]!;
    expect(top.functionName).toBe('inspectMe');
    expect(top.line).toBe(lineOf(scenario, 'inspect'));
    // Placed by a patch (its pause is a `debugger` statement the patch adds before the line), the top frame still at
    // the statement's own column in the file, not at the inserted code's.
    const placed = hub.status(a.snapshot!.id)!;
    expect(placed.method).toBe('patch');
    expect(top.column).toBe(placed.location!.column);
    expect(snap.frames.length).toBeGreaterThan(1);
    // Every frame names its file, Node's own modules included (the scenario's calls come from a timer).
    for (const f of snap.frames) expect(f.file).not.toBe('');
    expect(snap.frames.map((f) => f.file)).toContain('node:internal/timers');
    const tricky = find(top.locals, 'tricky')!;
    expect(find(tricky.children, 'self')).toMatchObject({ circular: true });
    expect(find(tricky.children, 'boom')).toMatchObject({ error: 'getter not run' });
    const huge = find(top.locals, 'huge')!;
    expect(huge).toMatchObject({ size: 100_000, truncated: true });
    expect(huge.value).toHaveLength(64);
    const many = find(top.locals, 'many')!;
    expect(many).toMatchObject({ className: 'Array', size: 5000, truncated: true });
    expect(many.children).toHaveLength(10);
    const map = find(top.locals, 'map')!;
    expect(map).toMatchObject({ className: 'Map', size: 2 });
    expect(find(map.children, 'password')).toMatchObject({ redacted: true });
    expect(find(top.locals, 'when')).toMatchObject({ className: 'Date', value: '1970-01-01T00:00:00.000Z' });
    expect(find(top.locals, 'buf')).toMatchObject({ className: 'Buffer', size: 2 });
    expect(find(top.locals, 'err')?.value).toBe('TypeError: bad thing');
    expect(find(top.locals, 'card')?.value).toBe('paid with [REDACTED] today');
    const user = find(top.locals, 'user')!;
    expect(find(user.children, 'password')).toMatchObject({ redacted: true, value: '[REDACTED]' });
    expect(find(user.children, 'token')).toMatchObject({ redacted: true });
    expect(snap.watches[0]).toMatchObject({ expression: 'user.name', value: { type: 'string', value: 'ann' } });
    expect(snap.watches[1]).toMatchObject({ value: { value: '5000' } });
    expect(snap.watches[2]?.error).toMatch(/TypeError/);
    expect(JSON.stringify(snap).length).toBeLessThan(70_000);
    // maxHits 2: exactly two snapshots, then completed.
    await hub.waitForStatus(a.snapshot!.id, (s) => s.state === 'completed');
    expect(hub.snapshots.filter((s) => s.actionId === a.snapshot!.id)).toHaveLength(2);
  });

  it("never shows the agent's own variables in snapshot locals, and expressions may not name them", async () => {
    for (const x of [a.timedTic, a.timedDuration]) {
      expect((await hub.waitForStatus(x!.id, (s) => s.state === 'active')).method).toBe('patch');
    }
    await hub.waitForStatus(a.timedSnap!.id, (s) => s.state === 'completed');
    const snaps = hub.snapshots.filter((s) => s.actionId === a.timedSnap!.id);
    expect(snaps).toHaveLength(3);
    // Patched before the first hit: the function holds the tictoc and duration variables while it is captured.
    for (const snap of snaps) {
      const top = snap.frames[0]!;
      expect(top.functionName).toBe('timed');
      const names = (top.locals ?? []).map((v) => v.name);
      expect(names).toEqual(expect.arrayContaining(['n', 'start', 'mid']));
      for (const f of snap.frames) for (const v of f.locals ?? []) expect(v.name).not.toMatch(/^__s(g|pyglass)/);
      expect(snap.watches[0]?.value?.type).toBe('number');
    }
    const inspect = hub.snapshots.find((s) => s.actionId === a.snapshot!.id)!;
    expect(hub.status(a.tictoc!.id)?.method).toBe('patch');
    for (const v of inspect.frames[0]!.locals ?? []) expect(v.name).not.toMatch(/^__sg/);
    for (const x of [a.reservedWatch, a.reservedLog]) {
      const st = await hub.waitForStatus(x!.id, (s) => s.state === 'error');
      expect(st.reason).toMatch(/__sg[TD]\d is reserved for the agent/);
    }
  });

  it('redacts secrets in log messages', async () => {
    const l = await hub.waitFor('redacted log', () => hub.logsOf(a.redactLog!.id)[0]);
    expect(l.message).toBe('pw=[REDACTED] card=paid with [REDACTED] today name=ann');
  });

  it('moves a probe on a line without code to the next statement and reports where', async () => {
    const st = await hub.waitForStatus(a.nextStatement!.id, (s) => s.state === 'active');
    expect(st.location?.line).toBe(lineOf(scenario, 'spacer-return'));
    await hub.waitFor('spacer log', () => hub.logsOf(a.nextStatement!.id)[0]);
  });

  it('reports an ambiguous file with its candidates, and blocklisted files', async () => {
    const st = await hub.waitForStatus(a.ambiguous!.id, (s) => s.state === 'error');
    expect(st.reason).toContain('ambiguous');
    expect(st.reason).toContain('esm/a/util.mjs');
    expect(st.reason).toContain('esm/b/util.mjs');
    const blocked = await hub.waitForStatus(a.blocked!.id, (s) => s.state === 'error');
    expect(blocked.reason).toContain('blocklist');
  });

  it('keeps an action pending until its file is loaded', async () => {
    expect(hub.statusLog.find((s) => s.actionId === a.pending!.id)?.state).toBe('pending');
    await hub.waitForStatus(a.pending!.id, (s) => s.state === 'active');
    const l = await hub.waitFor('lazy log', () => hub.logsOf(a.pending!.id)[0]);
    expect(l.message).toMatch(/^later \d+$/);
  });

  it('enforces hit limits and expiry locally', async () => {
    await hub.waitForStatus(a.limited!.id, (s) => s.state === 'completed');
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.logsOf(a.limited!.id)).toHaveLength(3);
    await hub.waitForStatus(a.expiring!.id, (s) => s.state === 'expired', 5000);
    const n = hub.logsOf(a.expiring!.id).length;
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.logsOf(a.expiring!.id)).toHaveLength(n);
  });

  it('aggregates counter, gauge, tictoc and duration metrics', async () => {
    const of = (id: string) => hub.metrics.filter((m) => m.actionId === id);
    await hub.waitFor('metrics', () => [a.counter, a.gauge, a.tictoc, a.duration].every((x) => of(x!.id).length > 0));
    const c = of(a.counter!.id)[0]!;
    expect(c.count).toBeGreaterThan(0);
    expect(c.sum).toBe(c.count);
    const g = of(a.gauge!.id)[0]!;
    expect(g.min).toBeGreaterThanOrEqual(0);
    expect(g.max).toBeLessThanOrEqual(101);
    for (const id of [a.tictoc!.id, a.duration!.id]) {
      const m = of(id)[0]!;
      expect(m.min).toBeGreaterThanOrEqual(0);
      expect(m.histogram?.counts.reduce((x, y) => x + y, 0)).toBe(m.count);
    }
    expect(hub.status(a.duration!.id)?.method).toBe('patch');
    expect(hub.status(a.tictoc!.id)?.method).toBe('patch');
  });

  it('times calls that throw or reject too, a body closed right after its last statement included', async () => {
    const total = (id: string): number => hub.metrics.filter((m) => m.actionId === id).reduce((n, m) => n + m.count, 0);
    // Every third call of risky rejects: the duration counts each call the counter at its first line counts.
    const n = await hub.waitFor('risky calls timed', () => {
      const calls = total(a.riskyCount!.id);
      return calls >= 6 && calls === total(a.riskyDuration!.id) ? calls : undefined;
    });
    expect(n).toBeGreaterThanOrEqual(6);
    expect(hub.status(a.riskyDuration!.id)).toMatchObject({ state: 'active', method: 'patch' });
    // compact, its closing brace right after `return …;`: wrapped too (the close goes before that `;`), so its odd
    // calls, which throw, are timed as well.
    const m = await hub.waitFor('compact calls timed', () => {
      const calls = total(a.compactCount!.id);
      return calls >= 6 && calls === total(a.compactDuration!.id) ? calls : undefined;
    });
    expect(m).toBeGreaterThanOrEqual(6);
    // The wrap leaves what the function returns as it was (`return a, b` is b).
    expect(app.stdout()).not.toContain('compact returned');
    // The wrapped form was taken: no fallback to the exits (which do not time throws).
    expect(app.stderr()).not.toContain(`action ${a.compactDuration!.id}: V8 refused one form of the patch`);
    expect(hub.status(a.compactDuration!.id)).toMatchObject({ state: 'active', method: 'patch' });
  });

  it('sends only frames the protocol accepts, and the app exits on its own', async () => {
    expect(hub.invalid).toEqual([]);
    expect(hub.hellos[0]).toMatchObject({ service: { name: 'scenario' }, runtime: { name: 'node' } });
    app.finish();
    expect(await app.exited).toBe(0);
  });
});
