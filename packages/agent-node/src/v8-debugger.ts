import type { DebugLog } from './debug-log.js';
import type { InspectorSession } from './inspector.js';
import type { ScriptRegistry } from './locate.js';

/**
 * V8's Debugger domain, on only while something needs it: it costs the host measurable CPU while enabled. Off, no
 * probe can exist, V8 neither reports nor tracks the scripts the host compiles, and the host runs at full speed.
 */
export class V8Debugger {
  private enabled = false;
  /** Levels of async stack trace V8 should record (0: none); applied while the domain is on. */
  private asyncDepthWanted = 0;
  private asyncDepthApplied = 0;
  private lastProblem: string | undefined;
  /** Since when it has been on with nothing needing it. */
  private unusedSince: number | undefined;

  constructor(
    private readonly inspector: InspectorSession,
    private readonly scripts: ScriptRegistry,
    private readonly log: DebugLog,
    /** How long it stays on once nothing needs it. */
    private readonly lingerMs: number,
    /** Scripts V8 no longer has (or replaced versions of live ones), found when it is turned on. */
    private readonly forget: (scriptIds: readonly string[]) => void,
    /** The agent stopped: nothing is turned on or off any more. */
    private readonly stopped: () => boolean,
  ) {}

  get isOn(): boolean {
    return this.enabled;
  }

  /** Why V8's inspector could not be opened the last time it was needed (e.g. Node's permission model). */
  get problem(): string | undefined {
    return this.lastProblem;
  }

  /**
   * Opens the inspector session and turns the Debugger domain on (V8 then reports every script it has, so locating
   * works as if it had always been on), or turns it off and closes the session. Never throws.
   */
  set(on: boolean): void {
    if (on === this.enabled || this.stopped()) return;
    try {
      if (on) {
        if (!this.inspector.isConnected) this.inspector.connect();
        // V8 reports every script it has while the command runs (events are delivered synchronously).
        this.scripts.beginReplay();
        try {
          this.inspector.post('Debugger.enable', { maxScriptsCacheSize: 0 });
        } finally {
          this.forget(this.scripts.endReplay());
        }
      } else {
        this.inspector.post('Debugger.disable');
        this.inspector.disconnect();
      }
      this.enabled = on;
      // Debugger.disable drops V8's async stack setting: it is set again when the domain comes back.
      this.asyncDepthApplied = 0;
      if (on) this.applyAsyncDepth();
      this.lastProblem = undefined;
      this.unusedSince = undefined;
      this.log(`debugger ${on ? 'on' : 'off'}; ${this.scripts.size} scripts known`);
    } catch (err) {
      this.log(`cannot turn the debugger ${on ? 'on' : 'off'}`, err);
      if (on) this.lastProblem = inspectorProblem(err);
      else this.inspector.disconnect();
    }
  }

  /**
   * How many levels of async callers V8 records (`Debugger.setAsyncCallStackDepth`). Recording costs the host a
   * little at every `await` and scheduled callback, so it is on only while a snapshot action asks for it, and off
   * with the domain. Never throws.
   */
  asyncDepth(depth: number): void {
    this.asyncDepthWanted = depth;
    if (this.enabled) this.applyAsyncDepth();
  }

  private applyAsyncDepth(): void {
    if (this.asyncDepthApplied === this.asyncDepthWanted) return;
    try {
      this.inspector.post('Debugger.setAsyncCallStackDepth', { maxDepth: this.asyncDepthWanted });
      this.asyncDepthApplied = this.asyncDepthWanted;
      this.log(`async stack depth ${this.asyncDepthWanted}`);
    } catch (err) {
      this.log('cannot set the async stack depth', err);
    }
  }

  /** Off once nothing has needed it for the linger time; `needed` is asked only while it is on. */
  offWhenUnneeded(needed: () => boolean): void {
    const unused = this.enabled && !needed();
    if (!unused) {
      this.unusedSince = undefined;
      return;
    }
    const now = Date.now();
    this.unusedSince ??= now;
    if (now - this.unusedSince >= this.lingerMs) this.set(false);
  }
}

/** The reason an action cannot be placed when the inspector session cannot be opened. */
function inspectorProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { code?: unknown } | null)?.code === 'ERR_ACCESS_DENIED')
    return (
      `Node's permission model blocks node:inspector, which the agent needs (${message}); ` +
      'allow it with --allow-inspector (Node 24 and later) or run without --permission'
    ).slice(0, 2048);
  return `the V8 inspector is not available in this process: ${message}`.slice(0, 2048);
}
