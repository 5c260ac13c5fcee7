import { HOOK } from './names.js';

/**
 * The functions of the hook object (`globalThis.__spyglass`) that generated code calls: the one definition of their
 * names. Code is generated only through {@link hookCall}, which accepts only these names, and the runtime's hook
 * object and {@link INERT_HOOKS} are typed by this interface, so a name cannot differ between the two.
 * `i` is the index of an action (`ActionRuntime.index`).
 */
export interface Hooks {
  /** Patches and conditions: is the action on (not paused by a limit, error, completion or expiry). */
  on(i: number): boolean;
  /** Patches: what the patched code threw (the action turns to `error`). */
  err(i: number, e: unknown): void;
  /** Expressions: a call of an allowed pure function, by its dotted name. */
  f(name: string, args: unknown[]): unknown;
  /** Expressions: a call of an allowed pure method. */
  m(receiver: unknown, name: string, args: unknown[]): unknown;
  /** Patched log: the values of the template's expressions. */
  log(i: number, values: unknown[]): void;
  /** Patched counter. */
  count(i: number): void;
  /** Patched gauge. */
  gauge(i: number, v: unknown): void;
  /** Patched tic-toc and duration: the start time, or undefined when the action is off. */
  tic(i: number): number | undefined;
  /** Patched tic-toc and duration: the end, with the time `tic` gave. */
  toc(i: number, t: unknown): void;
  /** Patched duration: a `return` of the function, whose value it passes through. */
  ret(i: number, t: unknown, v: unknown): unknown;
  /** Breakpoint condition: opens the evaluation of an action's clause (one still open at the next hit threw). */
  be(i: number): boolean;
  /** Breakpoint condition: what the clause threw. */
  berr(i: number, e: unknown): boolean;
  /** Breakpoint condition: the value of the action's condition. */
  bif(i: number, c: unknown): boolean;
  /** Breakpoint log. */
  bl(i: number, values: unknown[]): boolean;
  /** Breakpoint counter. */
  bn(i: number): boolean;
  /** Breakpoint gauge. */
  bg(i: number, v: unknown): boolean;
  /** Breakpoint tic-toc start. */
  btic(i: number): boolean;
  /** Breakpoint tic-toc end. */
  btoc(i: number): boolean;
  /** Breakpoint snapshot: asks for a pause. */
  bs(i: number): boolean;
  /** Patched snapshot: asks for the pause of the `debugger` statement that follows (true: the action may run). */
  sp(i: number): boolean;
  /** First statement of every breakpoint condition. */
  b0(): void;
  /** Last statement of every breakpoint condition: pause when a snapshot asked for it. */
  bp(): boolean;
  /** Snapshot capture: receives the live scope objects `Runtime.callFunctionOn` hands over. */
  g(v: unknown): void;
}

export type HookName = keyof Hooks;

/** Every hook function's name; the compiler checks that this table lists exactly the functions of {@link Hooks}. */
const TABLE: { readonly [K in HookName]: true } = {
  on: true,
  err: true,
  f: true,
  m: true,
  log: true,
  count: true,
  gauge: true,
  tic: true,
  toc: true,
  ret: true,
  be: true,
  berr: true,
  bif: true,
  bl: true,
  bn: true,
  bg: true,
  btic: true,
  btoc: true,
  bs: true,
  sp: true,
  b0: true,
  bp: true,
  g: true,
};
export const HOOK_NAMES: readonly HookName[] = Object.freeze(Object.keys(TABLE) as HookName[]);

/** The text of a call of hook function `name` with the given argument texts, on the hook global `hook`. */
export function hookCall(name: HookName, args: readonly (string | number)[] = [], hook: string = HOOK): string {
  return `${hook}.${name}(${args.join(',')})`;
}

/** Receives the live object `Runtime.callFunctionOn` hands over (`__spyglass.g(this)`), same thread, same tick. */
export const grabSlot: { value: unknown } = { value: undefined };

/**
 * What patched code finds after the agent stopped while V8 still held some of its patches (a function suspended at
 * `await` cannot be edited back): every probe is off, a timed `return` passes its value through.
 */
export const INERT_HOOKS: Readonly<Hooks> = Object.freeze({
  on: () => false,
  err: () => undefined,
  f: () => undefined,
  m: () => undefined,
  log: () => undefined,
  count: () => undefined,
  gauge: () => undefined,
  tic: () => undefined,
  toc: () => undefined,
  ret: (_i: number, _t: unknown, v: unknown) => v,
  be: () => false,
  berr: () => false,
  bif: () => false,
  bl: () => false,
  bn: () => false,
  bg: () => false,
  btic: () => false,
  btoc: () => false,
  bs: () => false,
  sp: () => false,
  b0: () => undefined,
  bp: () => false,
  g: () => undefined,
});
