import type { AgentAction, LogHit } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import {
  GRAB_FUNCTION,
  breakpointClause,
  breakpointCondition,
  durationPatch,
  statementPatch,
  type Place,
} from './codegen.js';
import { loadConfig } from './config.js';
import { HOOK_NAMES, INERT_HOOKS, type Hooks } from './hooks.js';
import { HOOK } from './names.js';
import { Redactor } from './redact.js';
import type { ActionRuntime } from './action-runtime.js';
import { Runtime } from './runtime.js';

function runtime(logs: LogHit[] = []): Runtime {
  return new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), {
    log: (hit) => logs.push(hit),
    status: () => undefined,
    finished: () => undefined,
    traceIds: () => undefined,
    pipe: () => undefined,
  });
}

const action = (fields: Record<string, unknown>): AgentAction =>
  ({ file: 'a.js', line: 1, maxHits: 100, expiresAt: Date.now() + 60_000, ...fields }) as unknown as AgentAction;

/** One action of every kind and metric, with and without a condition; expressions call pure functions and methods. */
const ACTIONS: AgentAction[] = [
  action({
    id: 'log',
    kind: 'log',
    template: 'n={Math.max(n, 1)} s={s.toUpperCase()}',
    level: 'info',
    pipe: false,
    condition: 'n > 0',
  }),
  action({ id: 'log-plain', kind: 'log', template: 'plain', level: 'info', pipe: false }),
  action({ id: 'snap', kind: 'snapshot', expressions: ['n'], condition: 'n > 1' }),
  action({ id: 'counter', kind: 'metric', metric: 'counter', name: 'c', condition: 'n' }),
  action({ id: 'gauge', kind: 'metric', metric: 'gauge', name: 'g', expression: 's.length' }),
  action({ id: 'tictoc', kind: 'metric', metric: 'tictoc', name: 't', endLine: 3, condition: 'n' }),
  action({ id: 'duration', kind: 'metric', metric: 'duration', name: 'd' }),
];

/** Every piece of code the generator makes for an action (the forms its kind has). */
function codeFor(rt: ActionRuntime): string[] {
  const a = rt.action;
  if (a.kind === 'metric' && a.metric === 'duration') {
    const d = durationPatch(rt.index);
    return [d.wrap.start, d.wrap.end, d.exits.start, d.exits.retOpen + 'v' + d.exits.retClose, d.exits.stop];
  }
  const places: Place[] = a.kind === 'metric' && a.metric === 'tictoc' ? ['start', 'end'] : ['start'];
  return [...places.map((p) => breakpointClause(rt, p)), ...places.map((p) => statementPatch(rt, p))];
}

/** The hook functions a piece of generated code calls. */
function called(code: string): string[] {
  return [...code.matchAll(new RegExp(`\\b${HOOK}\\.([A-Za-z_$][\\w$]*)\\(`, 'g'))].map((m) => m[1]!);
}

describe('hook names', () => {
  it('every hook function generated code calls exists on the runtime and the inert hook object, and no other', () => {
    const rtm = runtime();
    const code = ACTIONS.flatMap((a) => codeFor(rtm.create(a)));
    code.push(breakpointCondition(['false']), GRAB_FUNCTION);
    const emitted = new Set(code.flatMap(called));
    const hooks = rtm.hooks() as unknown as Record<string, unknown>;
    const inert = INERT_HOOKS as unknown as Record<string, unknown>;
    for (const name of emitted) {
      expect(HOOK_NAMES).toContain(name);
      expect(typeof hooks[name], `runtime hook ${name}`).toBe('function');
      expect(typeof inert[name], `inert hook ${name}`).toBe('function');
    }
    // The table has no name the generator never emits, and the hook objects have exactly the table's functions.
    expect([...emitted].sort()).toEqual([...HOOK_NAMES].sort());
    expect(Object.keys(hooks).sort()).toEqual([...HOOK_NAMES].sort());
    expect(Object.keys(inert).sort()).toEqual([...HOOK_NAMES].sort());
  });

  it('generates the guarded call the architecture describes', () => {
    const rt = runtime().create(ACTIONS[0]!);
    const i = rt.index;
    const e = '__sgE';
    expect(statementPatch(rt, 'start')).toBe(
      `try{if(${HOOK}.on(${i})&&((n)>(0)))${HOOK}.log(${i},[${HOOK}.f("Math.max",[n,1]),${HOOK}.m(s,"toUpperCase",[])])}` +
        `catch(${e}){${HOOK}.err(${i},${e})}`,
    );
  });

  it('runs: a patched log and counter, a breakpoint condition and a timed return reach the runtime', () => {
    const logs: LogHit[] = [];
    const rtm = runtime(logs);
    const hooks: Hooks = rtm.hooks();
    const [log, , , counter, , , duration] = ACTIONS.map((a) => {
      const rt = rtm.create(a);
      rtm.setState(rt, 'active');
      return rt;
    });
    const run = (code: string, n: unknown, s: unknown): unknown =>
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      new Function(HOOK, 'n', 's', code)(hooks, n, s);
    run(statementPatch(log!, 'start'), 5, 'ab');
    run(statementPatch(log!, 'start'), 0, 'no'); // the condition is false
    expect(logs.map((l) => l.message)).toEqual(['n=5 s=AB']);
    run(breakpointCondition([breakpointClause(log!, 'start')]), 2, 'cd');
    expect(logs.map((l) => l.message)).toEqual(['n=5 s=AB', 'n=2 s=CD']);
    // A condition answers false: the process does not pause for a log.
    expect(run(`return eval(${JSON.stringify(breakpointCondition([breakpointClause(log!, 'start')]))})`, 3, 'x')).toBe(
      false,
    );
    run(statementPatch(counter!, 'start'), 1, '');
    run(breakpointCondition([breakpointClause(counter!, 'start')]), 1, '');
    expect(counter!.hits).toBe(2);
    const d = durationPatch(duration!.index);
    expect(run(`${d.exits.start}return ${d.exits.retOpen}n*2${d.exits.retClose}`, 21, '')).toBe(42);
    expect(duration!.hits).toBe(1);
  });

  it('a patched snapshot asks for its pause only when its condition holds, then reaches a debugger statement', () => {
    const rtm = runtime();
    const snap = rtm.create(ACTIONS[2]!);
    rtm.setState(snap, 'active');
    const code = statementPatch(snap, 'start');
    expect(code).toBe(
      `try{if(${HOOK}.on(${snap.index})&&((n)>(1))&&${HOOK}.sp(${snap.index}))debugger;}` +
        `catch(__sgE){${HOOK}.err(${snap.index},__sgE)}`,
    );
    // No debugger is attached here: the statement does nothing, and the request it left is what a pause would take.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const run = (n: number): unknown => new Function(HOOK, 'n', code)(rtm.hooks(), n);
    run(1);
    expect(rtm.takePauseRequests()).toEqual([]);
    run(2);
    expect(rtm.takePauseRequests()).toEqual([snap]);
    expect(rtm.takePauseRequests()).toEqual([]);
    rtm.setState(snap, 'throttled');
    run(2);
    expect(rtm.takePauseRequests()).toEqual([]);
  });
});
