import { breakpointClause, breakpointCondition, type Place } from './codegen.js';
import type { DebugLog } from './debug-log.js';
import type { InspectorSession } from './inspector.js';
import type { ScriptInfo } from './locate.js';
import type { StatementSite } from './patch.js';
import type { ActionRuntime } from './action-runtime.js';

/** Where a breakpoint goes: a statement of the parsed script, or a raw generated line and column. */
export interface BreakpointPlace {
  site: StatementSite | undefined;
  raw: { line: number; column: number } | undefined;
}

/**
 * One V8 breakpoint per place: V8 refuses a second breakpoint where one exists, so every action in breakpoint mode
 * at a place (of any script with the same URL) is a member of the same breakpoint, whose condition runs each
 * member's clause in turn.
 */
interface SharedBreakpoint {
  key: string;
  script: ScriptInfo;
  /** The statement in the original text (its column moves when patches are applied on its line), or a raw place. */
  site: StatementSite | undefined;
  raw: { line: number; column: number } | undefined;
  members: { rt: ActionRuntime; which: Place }[];
  v8Id: string | undefined;
}

/** The breakpoints of every place, shared by the actions placed there in breakpoint mode. */
export class SharedBreakpoints {
  private readonly byKey = new Map<string, SharedBreakpoint>();

  constructor(
    private readonly inspector: InspectorSession,
    private readonly log: DebugLog,
    /** Column of a statement in the script's current (patched) text. */
    private readonly columnOf: (scriptId: string, site: StatementSite) => number,
  ) {}

  /**
   * Makes the action a member of the breakpoint at each of its places (the first is its start, a second the end of a
   * tic-toc), all or none: returns the keys of the breakpoints it joined, or throws having joined none.
   */
  join(rt: ActionRuntime, script: ScriptInfo, places: readonly BreakpointPlace[]): string[] {
    const keys: string[] = [];
    try {
      places.forEach((p, k) => {
        // By URL, not script: V8 places a breakpoint set by URL in every script of that URL (a module loaded again
        // after its require.cache entry went), and refuses a second one at the same place of any of them.
        const key = `${script.url}:${p.site ? `@${p.site.start}` : `${p.raw!.line}:${p.raw!.column}`}`;
        let bp = this.byKey.get(key);
        if (!bp) {
          bp = { key, script, site: p.site, raw: p.raw, members: [], v8Id: undefined };
          this.byKey.set(key, bp);
        } else bp.script = script; // the copy loaded last: the live one, whose text the columns follow
        bp.members.push({ rt, which: k === 0 ? 'start' : 'end' });
        keys.push(key);
        this.arm(bp);
      });
    } catch (err) {
      this.leave(rt, keys);
      throw err;
    }
    return keys;
  }

  /** Takes the action out of these breakpoints (a breakpoint left without members is removed). */
  leave(rt: ActionRuntime, keys: readonly string[]): void {
    for (const key of keys) {
      const bp = this.byKey.get(key);
      if (!bp) continue;
      bp.members = bp.members.filter((m) => m.rt !== rt);
      try {
        this.arm(bp);
      } catch (err) {
        this.log(`re-arming breakpoint ${key}`, err);
      }
    }
  }

  /** After an edit of the script, columns on patched lines moved: set its breakpoints again. */
  rearm(scriptId: string): void {
    for (const bp of [...this.byKey.values()]) {
      if (bp.script.scriptId !== scriptId) continue;
      try {
        this.arm(bp);
      } catch (err) {
        this.log('re-arming breakpoint', err);
      }
    }
  }

  /** (Re)set the V8 breakpoint of a place for its current members and text; removes it when it has none. */
  private arm(bp: SharedBreakpoint): void {
    if (bp.v8Id !== undefined) {
      const id = bp.v8Id;
      bp.v8Id = undefined;
      try {
        this.inspector.post('Debugger.removeBreakpoint', { breakpointId: id });
      } catch (err) {
        this.log(`removeBreakpoint ${id}`, err);
      }
    }
    if (bp.members.length === 0) {
      this.byKey.delete(bp.key);
      return;
    }
    const place = bp.site ? { line: bp.site.line, column: this.columnOf(bp.script.scriptId, bp.site) } : bp.raw!;
    const condition = breakpointCondition(bp.members.map((m) => breakpointClause(m.rt, m.which)));
    const r = this.inspector.post<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
      url: bp.script.url,
      lineNumber: place.line - 1,
      columnNumber: place.column,
      condition,
    });
    bp.v8Id = r.breakpointId;
  }
}
