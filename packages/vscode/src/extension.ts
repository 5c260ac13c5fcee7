import type {
  Action,
  AgentActionStatus,
  ServiceSelector,
  StoredSnapshot,
  StreamServerMessage,
} from '@spyglass/protocol';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { readCliLogin } from './cli-login.js';
import { formatLogLine, metricSummaryText, summarizeMetric } from './format.js';
import {
  Hub,
  LiveFeed,
  explainError,
  isAuthError,
  isUnreachable,
  type ActionOptions,
  type ActionSpecInput,
  type FeedState,
  type HubLogin,
} from './hub.js';
import { chooseService, normalisePath, pathMatches, serviceKey, type ServiceMatch } from './paths.js';
import { snapshotRoots, topLocalsText, type SnapshotNode } from './snapshot-tree.js';
import { lineState, type LineState } from './state.js';

const SECRET_KEY = 'spyglass.login';
const SERVICES_KEY = 'spyglass.services';
const CHOICE_KEY = 'spyglass.serviceChoice';
const MAX_SNAPSHOTS = 20;

/** What the extension knows of one action. */
interface Known {
  action: Action;
  statuses: AgentActionStatus[];
  state: LineState;
  lastLogs: string[];
  lastSnapshot: StoredSnapshot | null;
  metricText: string | null;
  /** The agent error was already shown in a notification. */
  errorShown: boolean;
}

class Spyglass implements vscode.Disposable {
  readonly #ctx: vscode.ExtensionContext;
  readonly #output: vscode.OutputChannel;
  readonly #status: vscode.StatusBarItem;
  readonly #known = new Map<string, Known>();
  readonly #snapshots: { action: Action; snapshot: StoredSnapshot }[] = [];
  readonly #changed = new vscode.EventEmitter<void>();
  readonly #decorations: Record<LineState['tone'], vscode.TextEditorDecorationType>;
  #hub: Hub | null = null;
  #feed: LiveFeed | null = null;
  #feedState: FeedState | 'signed-out' = 'signed-out';
  #refreshTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(ctx: vscode.ExtensionContext) {
    this.#ctx = ctx;
    this.#output = vscode.window.createOutputChannel('Spyglass');
    this.#status = vscode.window.createStatusBarItem('spyglass.status', vscode.StatusBarAlignment.Left, 50);
    this.#status.name = 'Spyglass';
    this.#status.command = 'spyglass.signIn';
    const deco = (color: string, icon: string) =>
      vscode.window.createTextEditorDecorationType({
        gutterIconPath: vscode.Uri.joinPath(ctx.extensionUri, 'media', icon),
        gutterIconSize: 'contain',
        overviewRulerColor: new vscode.ThemeColor(color),
        overviewRulerLane: vscode.OverviewRulerLane.Left,
        after: { color: new vscode.ThemeColor(color), margin: '0 0 0 2em' },
      });
    this.#decorations = {
      active: deco('charts.green', 'active.svg'),
      pending: deco('charts.yellow', 'pending.svg'),
      error: deco('errorForeground', 'error.svg'),
      ended: deco('descriptionForeground', 'ended.svg'),
    };
    this.#renderStatus();
    this.#status.show();
  }

  showOutput(): void {
    this.#output.show(true);
  }

  get onChanged(): vscode.Event<void> {
    return this.#changed.event;
  }

  get known(): Known[] {
    return [...this.#known.values()].sort((a, b) => b.action.createdAt - a.action.createdAt);
  }

  get snapshots(): readonly { action: Action; snapshot: StoredSnapshot }[] {
    return this.#snapshots;
  }

  dispose(): void {
    this.#feed?.stop();
    for (const t of this.#refreshTimers.values()) clearTimeout(t);
    for (const d of Object.values(this.#decorations)) d.dispose();
    this.#output.dispose();
    this.#status.dispose();
    this.#changed.dispose();
  }

  // ---- sign-in and connection ---------------------------------------------------------------------------------------

  #renderStatus(detail?: string): void {
    const hub = this.#hub === null ? null : new URL(this.#hub.url).host;
    const [icon, words] =
      this.#feedState === 'signed-out'
        ? ['$(circle-slash)', 'Spyglass: signed out']
        : this.#feedState === 'connected'
          ? ['$(eye)', `Spyglass: ${hub} · connected`]
          : this.#feedState === 'connecting'
            ? ['$(sync~spin)', `Spyglass: ${hub} · connecting`]
            : ['$(warning)', `Spyglass: ${hub} · disconnected`];
    this.#status.text = `${icon} ${words}`;
    this.#status.tooltip = detail === undefined ? words : `${words}\n${detail}`;
    this.#status.backgroundColor =
      this.#feedState === 'disconnected' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  /** Signs in with the stored login, or the CLI's; quietly does nothing when there is none. */
  async restore(): Promise<void> {
    const stored = await this.#ctx.secrets.get(SECRET_KEY);
    let login: HubLogin | null = null;
    if (stored !== undefined) {
      try {
        login = JSON.parse(stored) as HubLogin;
      } catch {
        login = null;
      }
    }
    login ??= readCliLogin();
    if (login !== null) await this.#connect(login, { store: false });
  }

  async signIn(): Promise<void> {
    const cli = readCliLogin();
    if (cli !== null) {
      const pick = await vscode.window.showQuickPick(
        [
          { label: `Use the CLI's login`, description: cli.url, detail: cli.file, cli: true },
          { label: 'Enter a hub URL and an API token', cli: false },
        ],
        { title: 'Spyglass: Sign In' },
      );
      if (pick === undefined) return;
      if (pick.cli) {
        await this.#connect({ url: cli.url, token: cli.token }, { store: true });
        return;
      }
    }
    const configured = vscode.workspace.getConfiguration('spyglass').get<string>('hubUrl');
    const url = await vscode.window.showInputBox({
      title: 'Spyglass: Sign In (1/2)',
      prompt: 'The hub URL',
      value: this.#hub?.url ?? (configured === '' ? undefined : configured) ?? 'http://localhost:4000',
      ignoreFocusOut: true,
      validateInput: (v) => {
        try {
          const u = new URL(v.trim());
          return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'an http:// or https:// URL';
        } catch {
          return 'an http:// or https:// URL, e.g. http://localhost:4000';
        }
      },
    });
    if (url === undefined) return;
    const token = await vscode.window.showInputBox({
      title: 'Spyglass: Sign In (2/2)',
      prompt: 'An API token (sgt_…): create one in the console under API tokens, or with `spyglass tokens create`',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'an API token' : null),
    });
    if (token === undefined) return;
    await this.#connect({ url: url.trim(), token: token.trim() }, { store: true });
  }

  async signOut(): Promise<void> {
    await this.#ctx.secrets.delete(SECRET_KEY);
    this.#feed?.stop();
    this.#feed = null;
    this.#hub = null;
    this.#feedState = 'signed-out';
    this.#known.clear();
    this.#renderStatus();
    this.#refreshViews();
  }

  async #connect(login: HubLogin, options: { store: boolean }): Promise<boolean> {
    const hub = new Hub(login);
    let me;
    try {
      me = await hub.signIn();
    } catch (err) {
      void vscode.window.showErrorMessage(`Spyglass: ${explainError(err, hub.url)}`);
      if (this.#hub === null) this.#renderStatus(explainError(err, hub.url));
      return false;
    }
    if (options.store) await this.#ctx.secrets.store(SECRET_KEY, JSON.stringify({ url: hub.url, token: login.token }));
    this.#feed?.stop();
    this.#hub = hub;
    this.#known.clear();
    this.#feedState = 'connecting';
    this.#renderStatus();
    this.#feed = new LiveFeed(hub, {
      onMessage: (m) => this.#onMessage(m),
      onState: (s, detail) => {
        this.#feedState = s;
        this.#renderStatus(detail);
        if (s === 'connected') void this.reload();
      },
    });
    this.#feed.start();
    void vscode.window.showInformationMessage(`Spyglass: signed in to ${hub.url} as ${me.user.email}.`);
    await this.#feed.follow({ services: this.#services() });
    return true;
  }

  #requireHub(): Hub | null {
    if (this.#hub !== null) return this.#hub;
    void vscode.window
      .showWarningMessage('Spyglass: sign in to a hub first.', 'Sign In')
      .then((b) => (b === 'Sign In' ? vscode.commands.executeCommand('spyglass.signIn') : undefined));
    return null;
  }

  /** Reports a failed hub call; a refused token asks to sign in again. */
  #fail(err: unknown, what: string): void {
    const hub = this.#hub;
    const message = `Spyglass: ${what}: ${explainError(err, hub?.url ?? '')}`;
    if (isAuthError(err))
      void vscode.window
        .showErrorMessage(message, 'Sign In')
        .then((b) => (b === 'Sign In' ? vscode.commands.executeCommand('spyglass.signIn') : undefined));
    else void vscode.window.showErrorMessage(message);
  }

  // ---- services the workspace follows -------------------------------------------------------------------------------

  #services(): ServiceSelector[] {
    return this.#ctx.workspaceState.get<ServiceSelector[]>(SERVICES_KEY, []);
  }

  async #rememberService(m: ServiceMatch): Promise<void> {
    const services = this.#services();
    if (!services.some((s) => s.pool === m.pool && s.service === m.service))
      await this.#ctx.workspaceState.update(SERVICES_KEY, [...services, { pool: m.pool, service: m.service }]);
    await this.#ctx.workspaceState.update(CHOICE_KEY, serviceKey(m));
    await this.#feed?.follow({ services: [{ pool: m.pool, service: m.service }] });
  }

  /** The service to place a line of `relativePath` in: the remembered one, the only one, or the user's pick. */
  async #pickService(hub: Hub, relativePath: string, forcePick = false): Promise<ServiceMatch | null> {
    const matches = await hub.servicesFor(relativePath);
    if (matches.length === 0) {
      void vscode.window.showWarningMessage(
        `Spyglass: no connected agent has loaded ${relativePath} (nor a file ending in ${relativePath.split('/').pop()}). Start the service under the agent, or check that it runs this file.`,
      );
      return null;
    }
    const remembered = forcePick ? undefined : this.#ctx.workspaceState.get<string>(CHOICE_KEY);
    let chosen = chooseService(matches, remembered);
    if (chosen === null) {
      const pick = await vscode.window.showQuickPick(
        matches.map((m) => ({
          label: m.service,
          description: `pool ${m.pool} · ${m.agentIds.length} agent${m.agentIds.length === 1 ? '' : 's'}`,
          detail: m.matches.slice(0, 3).join(', '),
          match: m,
        })),
        { title: `Spyglass: which service runs ${relativePath}?`, ignoreFocusOut: true },
      );
      if (pick === undefined) return null;
      chosen = pick.match;
    }
    await this.#rememberService(chosen);
    return chosen;
  }

  // ---- adding actions -----------------------------------------------------------------------------------------------

  /** The workspace-relative path of a document, or null (an untitled or outside file). */
  #relative(doc: vscode.TextDocument): string | null {
    if (doc.uri.scheme !== 'file') return null;
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    if (folder === undefined) return null;
    return normalisePath(vscode.workspace.asRelativePath(doc.uri, false));
  }

  async add(kind: 'log' | 'snapshot' | 'metric', at?: { uri?: vscode.Uri; lineNumber?: number }): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        'Spyglass: this workspace is in restricted mode. Trust it to add actions (Workspaces: Manage Workspace Trust).',
      );
      return;
    }
    const hub = this.#requireHub();
    if (hub === null) return;
    const editor =
      at?.uri === undefined
        ? vscode.window.activeTextEditor
        : vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === at.uri!.toString());
    if (editor === undefined) {
      void vscode.window.showWarningMessage('Spyglass: open a source file and put the cursor on a line first.');
      return;
    }
    const relativePath = this.#relative(editor.document);
    if (relativePath === null) {
      void vscode.window.showWarningMessage('Spyglass: the file must be saved inside the open workspace folder.');
      return;
    }
    const line = at?.lineNumber ?? editor.selection.active.line + 1;
    let target: ServiceMatch | null;
    try {
      target = await this.#pickService(hub, relativePath);
    } catch (err) {
      this.#fail(err, 'could not list the agents');
      return;
    }
    if (target === null) return;
    const spec = await askSpec(kind, relativePath, line);
    if (spec === undefined) return;
    const options = await askOptions(kind);
    if (options === undefined) return;
    let action: Action;
    try {
      action = await hub.addAction(target, line, spec, options);
    } catch (err) {
      this.#fail(err, `could not add the ${kind}`);
      return;
    }
    this.#remember(action, []);
    await this.#feed?.follow({ actionIds: [action.id] });
    this.#output.appendLine(
      `${kind} ${action.id} added at ${action.file}:${action.line} for ${target.service} (pool ${target.pool})`,
    );
    // The agents answer in a moment: a line they cannot place is said at once.
    void hub
      .placement(action.id)
      .then(({ action: a, statuses }) => this.#remember(a, statuses))
      .catch(() => undefined);
  }

  // ---- what the hub says --------------------------------------------------------------------------------------------

  #remember(action: Action, statuses: AgentActionStatus[]): void {
    const known = this.#known.get(action.id);
    const state = lineState(action, statuses);
    const k: Known = {
      action,
      statuses,
      state,
      lastLogs: known?.lastLogs ?? [],
      lastSnapshot: known?.lastSnapshot ?? null,
      metricText: known?.metricText ?? null,
      errorShown: known?.errorShown ?? false,
    };
    this.#known.set(action.id, k);
    if (state.error !== null && !k.errorShown) {
      k.errorShown = true;
      void vscode.window.showErrorMessage(
        `Spyglass: the agent cannot place the ${action.kind} at ${action.file}:${action.line}: ${state.error}`,
      );
    }
    this.#refreshViews();
  }

  /** Fetches an action again soon (several messages in a row make one request). */
  #refreshSoon(id: string): void {
    if (this.#refreshTimers.has(id)) return;
    this.#refreshTimers.set(
      id,
      setTimeout(() => {
        this.#refreshTimers.delete(id);
        const hub = this.#hub;
        if (hub === null) return;
        hub.action(id).then(
          ({ action, statuses }) => {
            this.#remember(action, statuses);
            if (action.kind === 'metric') void this.#loadMetric(action);
          },
          (err) => {
            if ((err as { code?: string }).code === 'NOT_FOUND') this.#forget(id);
          },
        );
      }, 150),
    );
  }

  #forget(id: string): void {
    this.#known.delete(id);
    this.#refreshViews();
  }

  async #loadMetric(action: Action): Promise<void> {
    if (action.kind !== 'metric' || this.#hub === null) return;
    try {
      const page = await this.#hub.client.actions.metrics(action.id, { limit: 360 });
      const k = this.#known.get(action.id);
      if (k === undefined) return;
      k.metricText = metricSummaryText(action.metric, summarizeMetric(page.items));
      this.#refreshViews();
    } catch {
      // Shown again at the next sample.
    }
  }

  #onMessage(m: StreamServerMessage): void {
    switch (m.type) {
      case 'log': {
        const k = this.#known.get(m.actionId);
        const where = k === undefined ? '' : ` ${k.action.file.split('/').pop()}:${k.action.line}`;
        const service = k?.action.target.service ?? 'agent';
        const line = formatLogLine(m.log, `${service}${where}`);
        this.#output.appendLine(line);
        if (k !== undefined) k.lastLogs = [...k.lastLogs.slice(-4), m.log.message];
        this.#refreshSoon(m.actionId);
        return;
      }
      case 'snapshot':
        void this.#loadSnapshot(m.actionId, m.snapshot.id);
        this.#refreshSoon(m.actionId);
        return;
      case 'metric':
      case 'status':
        this.#refreshSoon(m.actionId);
        return;
      case 'action':
        if (m.event === 'deleted') this.#forget(m.actionId);
        else this.#refreshSoon(m.actionId);
        return;
      case 'dropped':
        this.#output.appendLine(`(${m.count} live messages were dropped: the editor could not keep up)`);
        return;
      case 'error':
        this.#output.appendLine(`live stream: ${m.code}: ${m.message}`);
        return;
      case 'subscribed':
      case 'pong':
        return;
    }
  }

  async #loadSnapshot(actionId: string, hitId: string): Promise<void> {
    const hub = this.#hub;
    if (hub === null) return;
    try {
      const [snapshot, action] = await Promise.all([
        hub.client.actions.snapshot(actionId, hitId),
        this.#known.get(actionId)?.action ?? hub.client.actions.get(actionId),
      ]);
      this.#snapshots.unshift({ action, snapshot });
      this.#snapshots.splice(MAX_SNAPSHOTS);
      const k = this.#known.get(actionId);
      if (k !== undefined) k.lastSnapshot = snapshot;
      this.#refreshViews();
      void vscode.commands.executeCommand('spyglass.snapshots.focus');
    } catch (err) {
      this.#output.appendLine(`could not load snapshot ${hitId}: ${explainError(err, hub.url)}`);
    }
  }

  /** Loads the followed services' actions again (after connecting). */
  async reload(): Promise<void> {
    const hub = this.#hub;
    if (hub === null) return;
    try {
      const ids = new Set(this.#known.keys());
      const actions = await hub.actionsOf(this.#services());
      for (const a of actions) {
        ids.delete(a.id);
        const { statuses } = await hub.action(a.id);
        this.#remember(a, statuses);
        if (a.kind === 'metric') void this.#loadMetric(a);
      }
      for (const id of ids) this.#refreshSoon(id);
      await this.#feed?.follow({ actionIds: actions.map((a) => a.id) });
    } catch (err) {
      if (!isUnreachable(err)) this.#fail(err, 'could not load the actions');
    }
  }

  async remove(id: string): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        'Spyglass: this workspace is in restricted mode: trust it to remove actions.',
      );
      return;
    }
    const hub = this.#requireHub();
    if (hub === null) return;
    try {
      await hub.removeAction(id);
      this.#forget(id);
    } catch (err) {
      this.#fail(err, 'could not remove the action');
    }
  }

  async removeAll(): Promise<void> {
    const ids = [...this.#known.values()].filter((k) => k.action.state === 'active').map((k) => k.action.id);
    if (ids.length === 0) return;
    const ok = await vscode.window.showWarningMessage(
      `Spyglass: remove ${ids.length} action${ids.length === 1 ? '' : 's'} of this workspace's services?`,
      { modal: true },
      'Remove',
    );
    if (ok !== 'Remove') return;
    for (const id of ids) await this.remove(id);
  }

  // ---- editor presentation ------------------------------------------------------------------------------------------

  /** The actions on lines of `doc`. */
  actionsIn(doc: vscode.TextDocument): Known[] {
    const rel = this.#relative(doc);
    if (rel === null) return [];
    return this.known.filter((k) => pathMatches(rel, k.action.file));
  }

  #refreshViews(): void {
    this.#changed.fire();
    for (const editor of vscode.window.visibleTextEditors) this.decorate(editor);
  }

  decorate(editor: vscode.TextEditor): void {
    const byTone: Record<LineState['tone'], vscode.DecorationOptions[]> = {
      active: [],
      pending: [],
      error: [],
      ended: [],
    };
    const perLine = new Map<number, Known[]>();
    for (const k of this.actionsIn(editor.document)) {
      const line = k.action.line - 1;
      if (line < 0 || line >= editor.document.lineCount) continue;
      perLine.set(line, [...(perLine.get(line) ?? []), k]);
    }
    for (const [line, ks] of perLine) {
      const tone = ks.some((k) => k.state.tone === 'error')
        ? 'error'
        : ks.some((k) => k.state.tone === 'active')
          ? 'active'
          : ks.some((k) => k.state.tone === 'pending')
            ? 'pending'
            : 'ended';
      const end = editor.document.lineAt(line).range.end;
      byTone[tone].push({
        range: new vscode.Range(end, end),
        renderOptions: { after: { contentText: `◉ ${ks.map(decorationText).join('  ◉ ')}` } },
      });
    }
    for (const tone of Object.keys(byTone) as LineState['tone'][])
      editor.setDecorations(this.#decorations[tone], byTone[tone]);
  }

  hover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | null {
    const ks = this.actionsIn(doc).filter((k) => k.action.line - 1 === position.line);
    if (ks.length === 0) return null;
    const md = new vscode.MarkdownString();
    for (const k of ks) {
      md.appendMarkdown(`**Spyglass ${k.action.kind}** — ${k.state.text}\n\n`);
      if (k.action.kind === 'log') {
        md.appendMarkdown(`Template: \`${k.action.template}\`\n\n`);
        if (k.lastLogs.length > 0) md.appendCodeblock(k.lastLogs.join('\n'), 'text');
      }
      if (k.action.kind === 'snapshot' && k.lastSnapshot !== null)
        md.appendCodeblock(topLocalsText(k.lastSnapshot).join('\n'), 'text');
      if (k.action.kind === 'metric') md.appendMarkdown(`${k.action.name}: ${k.metricText ?? 'no samples yet'}\n\n`);
      for (const s of k.statuses.filter((s) => s.reason !== null)) md.appendMarkdown(`- ${s.state}: ${s.reason}\n`);
    }
    return new vscode.Hover(md);
  }

  /** Opens a frame's file: the agent's path when this machine has it, else the workspace file it ends with. */
  async openFrame(file: string, line: number): Promise<void> {
    let uri: vscode.Uri | null = null;
    const normalised = normalisePath(file);
    if (normalised.startsWith('/') && existsSync(normalised)) uri = vscode.Uri.file(normalised);
    if (uri === null) {
      const base = normalised.split('/').pop() ?? normalised;
      const found = await vscode.workspace.findFiles(`**/${base}`, '**/node_modules/**', 50);
      let best = -1;
      for (const f of found) {
        const rel = normalisePath(vscode.workspace.asRelativePath(f, false)).split('/');
        const parts = normalised.split('/');
        let n = 0;
        while (n < rel.length && n < parts.length && rel[rel.length - 1 - n] === parts[parts.length - 1 - n]) n++;
        if (n > best) {
          best = n;
          uri = f;
        }
      }
    }
    if (uri === null) {
      void vscode.window.showWarningMessage(`Spyglass: ${file} is not in this workspace.`);
      return;
    }
    const pos = new vscode.Position(Math.max(0, line - 1), 0);
    await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos) });
  }
}

function decorationText(k: Known): string {
  return k.metricText === null ? k.state.text : `${k.state.text} · ${k.metricText}`;
}

// ---- quick inputs ---------------------------------------------------------------------------------------------------

async function askSpec(
  kind: 'log' | 'snapshot' | 'metric',
  file: string,
  line: number,
): Promise<ActionSpecInput | undefined> {
  const where = `${file.split('/').pop()}:${line}`;
  if (kind === 'log') {
    const template = await vscode.window.showInputBox({
      title: `Spyglass: log at ${where}`,
      prompt: 'The message; {expression} parts are evaluated where the line runs, e.g. order {order.id} total {total}',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'a message to log' : null),
    });
    return template === undefined ? undefined : { kind: 'log', template };
  }
  if (kind === 'snapshot') {
    const watches = await vscode.window.showInputBox({
      title: `Spyglass: snapshot at ${where}`,
      prompt: 'Watch expressions, separated by ";" (optional): the stack and local variables are captured anyway',
      ignoreFocusOut: true,
    });
    if (watches === undefined) return undefined;
    return {
      kind: 'snapshot',
      expressions: watches
        .split(';')
        .map((w) => w.trim())
        .filter((w) => w !== ''),
    };
  }
  const type = await vscode.window.showQuickPick(
    [
      { label: 'counter', description: 'count the times the line runs' },
      { label: 'gauge', description: 'record a number each time the line runs' },
      { label: 'tictoc', description: 'time from this line to a later line' },
      { label: 'duration', description: 'time the function this line is in' },
    ],
    { title: `Spyglass: metric at ${where}`, ignoreFocusOut: true },
  );
  if (type === undefined) return undefined;
  const metric = type.label as 'counter' | 'gauge' | 'tictoc' | 'duration';
  const base = (file.split('/').pop() ?? 'file').replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_]/g, '_');
  const name = await vscode.window.showInputBox({
    title: `Spyglass: ${metric} at ${where}`,
    prompt: 'Metric name',
    value: `${metric}.${/^[A-Za-z_]/.test(base) ? base : `f_${base}`}.L${line}`,
    ignoreFocusOut: true,
  });
  if (name === undefined) return undefined;
  if (metric === 'gauge') {
    const expression = await vscode.window.showInputBox({
      title: `Spyglass: gauge at ${where}`,
      prompt: 'The numeric expression to record, e.g. items.length',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'an expression' : null),
    });
    return expression === undefined ? undefined : { kind: 'metric', metric, name, expression };
  }
  if (metric === 'tictoc') {
    const end = await vscode.window.showInputBox({
      title: `Spyglass: tictoc from ${where}`,
      prompt: 'The line where the timer stops',
      value: String(line + 1),
      ignoreFocusOut: true,
      validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > line ? null : `a line number after ${line}`),
    });
    return end === undefined ? undefined : { kind: 'metric', metric, name, endLine: Number(end) };
  }
  return { kind: 'metric', metric, name };
}

async function askOptions(kind: 'log' | 'snapshot' | 'metric'): Promise<ActionOptions | undefined> {
  const condition = await vscode.window.showInputBox({
    title: 'Spyglass: condition (optional)',
    prompt: 'Only when this expression is truthy, e.g. order.totalCents > 10000; empty: every time',
    ignoreFocusOut: true,
  });
  if (condition === undefined) return undefined;
  const defaults = { log: 100, snapshot: 1, metric: 1_000_000 };
  const hits = await vscode.window.showInputBox({
    title: 'Spyglass: hit limit',
    prompt: 'Stop after this many hits',
    value: String(defaults[kind]),
    ignoreFocusOut: true,
    validateInput: (v) => (/^[1-9]\d*$/.test(v.trim()) ? null : 'a whole number, 1 or more'),
  });
  if (hits === undefined) return undefined;
  const expiry = await vscode.window.showInputBox({
    title: 'Spyglass: expiry',
    prompt: 'Remove it after this long: 30m, 2h, 1d (at most 7d)',
    value: '1h',
    ignoreFocusOut: true,
    validateInput: (v) => (parseDuration(v) === null ? 'a duration such as 30m, 2h or 1d, at most 7d' : null),
  });
  if (expiry === undefined) return undefined;
  return {
    ...(condition.trim() === '' ? {} : { condition: condition.trim() }),
    maxHits: Number(hits.trim()),
    ttlMs: parseDuration(expiry)!,
  };
}

/** `30s`, `30m`, `2h`, `1d` → ms; null when not one, or over 7 days. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (m === null) return null;
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return ms > 0 && ms <= 7 * 86_400_000 ? ms : null;
}

// ---- views ----------------------------------------------------------------------------------------------------------

type ActionItem = { kind: 'action'; known: Known };

class ActionsView implements vscode.TreeDataProvider<ActionItem> {
  readonly #sg: Spyglass;
  readonly onDidChangeTreeData: vscode.Event<void>;
  constructor(sg: Spyglass) {
    this.#sg = sg;
    this.onDidChangeTreeData = sg.onChanged;
  }
  getChildren(element?: ActionItem): ActionItem[] {
    if (element !== undefined) return [];
    return this.#sg.known.map((known) => ({ kind: 'action', known }));
  }
  getTreeItem({ known: k }: ActionItem): vscode.TreeItem {
    const a = k.action;
    const item = new vscode.TreeItem(`${a.file.split('/').pop()}:${a.line} ${a.kind}`);
    item.id = a.id;
    item.description = decorationText(k).replace(/^[a-z]+( [a-z]+)? · /, '');
    item.tooltip = new vscode.MarkdownString(
      `**${a.kind}** at \`${a.file}:${a.line}\` — ${a.target.service ?? 'all services'} (pool ${a.target.pool})\n\n${k.state.text}` +
        (k.state.error === null ? '' : `\n\n${k.state.error}`),
    );
    item.iconPath = new vscode.ThemeIcon(
      k.state.tone === 'error'
        ? 'error'
        : k.state.tone === 'pending'
          ? 'watch'
          : k.state.tone === 'ended'
            ? 'pass'
            : 'eye',
    );
    item.contextValue = 'spyglass.action';
    item.command = { title: 'Go to line', command: 'spyglass.revealAction', arguments: [a.id] };
    return item;
  }
}

type SnapshotItem = { kind: 'hit'; action: Action; snapshot: StoredSnapshot } | { kind: 'node'; node: SnapshotNode };

class SnapshotsView implements vscode.TreeDataProvider<SnapshotItem> {
  readonly #sg: Spyglass;
  readonly onDidChangeTreeData: vscode.Event<void>;
  constructor(sg: Spyglass) {
    this.#sg = sg;
    this.onDidChangeTreeData = sg.onChanged;
  }
  getChildren(element?: SnapshotItem): SnapshotItem[] {
    if (element === undefined) return this.#sg.snapshots.map((s) => ({ kind: 'hit', ...s }));
    const nodes = element.kind === 'hit' ? snapshotRoots(element.snapshot) : element.node.children();
    return nodes.map((node) => ({ kind: 'node', node }));
  }
  getTreeItem(element: SnapshotItem): vscode.TreeItem {
    if (element.kind === 'hit') {
      const { action: a, snapshot: s } = element;
      const item = new vscode.TreeItem(
        `${a.file.split('/').pop()}:${a.line}`,
        this.#sg.snapshots[0]?.snapshot.id === s.id
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = s.id;
      item.description = `${new Date(s.at).toLocaleTimeString()}${s.truncated ? ' · truncated' : ''}`;
      item.iconPath = new vscode.ThemeIcon('device-camera');
      return item;
    }
    const n = element.node;
    const item = new vscode.TreeItem(
      n.label,
      !n.expandable
        ? vscode.TreeItemCollapsibleState.None
        : n.kind === 'value'
          ? vscode.TreeItemCollapsibleState.Collapsed
          : vscode.TreeItemCollapsibleState.Expanded,
    );
    item.id = n.id;
    item.description = n.description;
    item.tooltip =
      n.kind === 'value'
        ? `${n.label} = ${n.description}`
        : n.location === undefined
          ? n.label
          : `${n.location.file}:${n.location.line}`;
    if (n.kind === 'frame' && n.location !== undefined) {
      item.iconPath = new vscode.ThemeIcon('debug-stackframe');
      item.command = { title: 'Open', command: 'spyglass.openFrame', arguments: [n.location.file, n.location.line] };
    }
    if (n.kind === 'value') {
      item.contextValue = 'spyglass.value';
      item.iconPath = new vscode.ThemeIcon('symbol-variable');
    }
    return item;
  }
}

class Lenses implements vscode.CodeLensProvider {
  readonly #sg: Spyglass;
  readonly onDidChangeCodeLenses: vscode.Event<void>;
  constructor(sg: Spyglass) {
    this.#sg = sg;
    this.onDidChangeCodeLenses = sg.onChanged;
  }
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const lenses: vscode.CodeLens[] = [];
    for (const k of this.#sg.actionsIn(doc)) {
      const line = k.action.line - 1;
      if (line < 0 || line >= doc.lineCount) continue;
      const range = doc.lineAt(line).range;
      lenses.push(
        new vscode.CodeLens(range, { title: `Spyglass ${decorationText(k)}`, command: 'spyglass.actions.focus' }),
        new vscode.CodeLens(range, { title: 'Remove', command: 'spyglass.removeAction', arguments: [k.action.id] }),
      );
    }
    return lenses;
  }
}

// ---- activation -----------------------------------------------------------------------------------------------------

/** The command argument from a view item, the editor's gutter menu (`{ uri, lineNumber }`) or a plain id. */
function actionIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const item = arg as { known?: Known } | undefined;
  return item?.known?.action.id;
}

function lineArg(arg: unknown): { uri?: vscode.Uri; lineNumber?: number } | undefined {
  const a = arg as { uri?: unknown; lineNumber?: unknown } | undefined;
  if (a !== undefined && a.uri instanceof vscode.Uri && typeof a.lineNumber === 'number')
    return { uri: a.uri, lineNumber: a.lineNumber };
  return undefined;
}

export function activate(ctx: vscode.ExtensionContext): void {
  const sg = new Spyglass(ctx);
  ctx.subscriptions.push(sg);
  const snapshotsView = new SnapshotsView(sg);
  ctx.subscriptions.push(
    vscode.window.registerTreeDataProvider('spyglass.actions', new ActionsView(sg)),
    vscode.window.registerTreeDataProvider('spyglass.snapshots', snapshotsView),
    vscode.languages.registerCodeLensProvider({ scheme: 'file' }, new Lenses(sg)),
    vscode.languages.registerHoverProvider({ scheme: 'file' }, { provideHover: (doc, pos) => sg.hover(doc, pos) }),
    vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => sg.decorate(e))),
    vscode.workspace.onDidGrantWorkspaceTrust(
      () => void vscode.commands.executeCommand('setContext', 'spyglass.trusted', true),
    ),
    vscode.commands.registerCommand('spyglass.signIn', () => sg.signIn()),
    vscode.commands.registerCommand('spyglass.signOut', () => sg.signOut()),
    vscode.commands.registerCommand('spyglass.addLog', (arg: unknown) => sg.add('log', lineArg(arg))),
    vscode.commands.registerCommand('spyglass.addSnapshot', (arg: unknown) => sg.add('snapshot', lineArg(arg))),
    vscode.commands.registerCommand('spyglass.addMetric', (arg: unknown) => sg.add('metric', lineArg(arg))),
    vscode.commands.registerCommand('spyglass.removeAction', (arg: unknown) => {
      const id = actionIdOf(arg);
      return id === undefined ? undefined : sg.remove(id);
    }),
    vscode.commands.registerCommand('spyglass.removeAllActions', () => sg.removeAll()),
    vscode.commands.registerCommand('spyglass.refresh', () => sg.reload()),
    vscode.commands.registerCommand('spyglass.revealAction', async (arg: unknown) => {
      const k = sg.known.find((x) => x.action.id === actionIdOf(arg));
      if (k !== undefined) await sg.openFrame(k.action.file, k.action.line);
    }),
    vscode.commands.registerCommand('spyglass.openFrame', (file: string, line: number) => sg.openFrame(file, line)),
    vscode.commands.registerCommand('spyglass.copyValue', (item: SnapshotItem) =>
      item.kind === 'node' ? vscode.env.clipboard.writeText(item.node.copyText ?? item.node.description) : undefined,
    ),
    vscode.commands.registerCommand('spyglass.showOutput', () => sg.showOutput()),
  );
  void vscode.commands.executeCommand('setContext', 'spyglass.trusted', vscode.workspace.isTrusted);
  void sg.restore();
}

export function deactivate(): void {
  // Everything is disposed through the context's subscriptions.
}
