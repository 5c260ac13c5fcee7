import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedModelServer, createHub, type ModelRequest, type TestHub } from '../../server/test/kit/index.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const lastTool = (req: ModelRequest): string =>
  req.body.messages.filter((m) => m.role === 'tool').at(-1)?.content ?? '';
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: JSON.stringify(args) }] });

/** `spyglass ask` as a process (stdin not a terminal) against a real hub whose model is a scripted server. */
describe('spyglass ask', () => {
  let hub: TestHub;
  let model: ScriptedModelServer;
  let home: string;

  beforeAll(async () => {
    model = await ScriptedModelServer.start();
    hub = await createHub({
      listen: true,
      env: { SPYGLASS_ASSISTANT_BASE_URL: model.url, SPYGLASS_ASSISTANT_MODEL: 'scripted' },
    });
    home = mkdtempSync(path.join(tmpdir(), 'spyglass-ask-'));
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await model?.close();
  });

  const cli = (args: string[], token = hub.tokens.developer): Promise<Result> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: home,
            XDG_CONFIG_HOME: home,
            SPYGLASS_URL: hub.url,
            SPYGLASS_TOKEN: token,
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
      );
    });

  it('streams the answer, shows tool calls, refuses writes without a terminal, and goes on with --session', async () => {
    model.reply(call('list_agents', {}), (req) => {
      expect(lastTool(req)).toMatch(/no agent|0 agents|No agents/i);
      return { text: 'No service is running right now.' };
    });
    const first = await cli(['ask', 'which', 'services', 'are', 'running?']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('No service is running right now.\n');
    expect(first.stderr).toMatch(/^→ list_agents \{\}$/m);
    expect(first.stderr).toMatch(/^ {2}✓ /m);
    const id = /continue with --session (\S+)\)/.exec(first.stderr)![1]!;
    expect(model.requests.at(-2)!.body.messages.at(-1)).toEqual({
      role: 'user',
      content: 'which services are running?',
    });

    model.reply(call('add_log', { service: 'shop', file: 'src/a.ts', line: 3, template: 'hi' }), (req) => {
      expect(lastTool(req)).toMatch(/^The user did not approve add_log: the user said no on the command line/);
      return { text: 'Not added.' };
    });
    const denied = await cli(['ask', '--session', id, 'log hi at src/a.ts:3 in shop']);
    expect(denied.code, denied.stderr).toBe(0);
    expect(denied.stderr).toContain(
      'not approved: Add a log at a.ts:3 in shop: "hi"? (run with --yes to approve writes from a script)',
    );
    expect(denied.stdout).toBe('Not added.\n');

    model.reply(call('add_log', { service: 'shop', file: 'src/a.ts', line: 3, template: 'hi' }), (req) => {
      expect(lastTool(req)).toMatch(/no connected agent runs service "shop"/);
      return { text: 'The shop is not running, so I could not add it.' };
    });
    const approved = await cli(['ask', '--yes', '--session', id, 'do it anyway']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stderr).not.toContain('not approved');
    expect(approved.stderr).toMatch(/^ {2}✗ .*no connected agent runs service "shop"/m);

    const stored = await hub.api<{ messageCount: number }>(
      'GET',
      `/api/v1/assistant/sessions/${id}`,
      undefined,
      'developer',
    );
    expect(stored.body.messageCount).toBe(12);
  });

  it('prints every frame with --json, and exits 1 with the reason when the turn fails', async () => {
    model.reply({ text: 'ok' });
    const framed = await cli(['ask', 'hello', '--json']);
    expect(framed.code, framed.stderr).toBe(0);
    const frames = framed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(frames[0]!.type).toBe('session');
    expect(frames.at(-1)).toMatchObject({ type: 'text', text: 'ok' });

    model.reply({ status: 500, error: 'boom' });
    const failed = await cli(['ask', 'hello again']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/PROVIDER_ERROR: the model server at http:\/\/127\.0\.0\.1:\d+ answered 500: boom/);

    const refused = await cli(['ask', 'hi'], 'sgt_not-a-real-token');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused the stored token; run `spyglass login` again');

    const usage = await cli(['ask', '--session', 'nope', 'x']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/sessionId must be a UUID/);
  });
});
