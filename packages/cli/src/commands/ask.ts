import { createInterface } from 'node:readline';
import type { AssistantServerFrame } from '@spyglass/protocol';
import type { Command } from 'commander';
import WebSocket from 'ws';
import type { Context } from '../context.js';
import { UsageError } from '../parse.js';
import { effectiveSettings } from '../settings.js';
import { CommandExit } from './tests.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

interface AskOptions {
  session?: string;
  yes?: boolean;
}

const firstLine = (text: string, max = 160): string => {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** Asks on the terminal; resolves false without a terminal (a script must pass --yes). */
async function confirm(prompt: string, ctx: Context): Promise<boolean> {
  if (process.stdin.isTTY !== true) return false;
  const rl = createInterface({ input: process.stdin, output: ctx.io.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${prompt} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * One question to the hub's assistant over `/api/v1/assistant/chat`, with the stored login: the answer streams to
 * stdout, tool calls and results go to stderr, a write tool is asked about on the terminal (or approved by --yes),
 * Ctrl-C cancels the turn. Exit 0 with an answer, 1 when the turn ended without one.
 */
async function ask(ctx: Context, words: string[], opts: AskOptions): Promise<void> {
  const question = words.join(' ').trim();
  if (question === '') throw new UsageError('ask needs a question, e.g. spyglass ask "which services are running?"');
  const settings = effectiveSettings(ctx.io.env);
  if (settings.token === undefined) throw new UsageError('not signed in: run `spyglass login` or set SPYGLASS_TOKEN');
  const url = new URL(`${ctx.hubUrl.replace(/^http/, 'ws')}/api/v1/assistant/chat`);
  if (opts.session !== undefined) url.searchParams.set('sessionId', opts.session);
  const err = (line: string) => ctx.io.stderr.write(`${line}\n`);
  // --json: every chat frame as a JSON line on stdout.
  const json = ctx.out.json;

  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${settings.token}`, 'user-agent': 'spyglass-cli' },
  });
  const state: { sessionId: string | null } = { sessionId: null };
  let streamed = false;
  let cancelled = false;
  const onSigint = () => {
    if (cancelled) process.exit(130);
    cancelled = true;
    err('\ncancelling… (Ctrl-C again to quit at once)');
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'cancel' }));
  };
  process.on('SIGINT', onSigint);
  try {
    const outcome = await new Promise<{ ok: boolean; message?: string }>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        reject(
          new Error(
            res.statusCode === 401
              ? `the hub at ${ctx.hubUrl} refused the stored token; run \`spyglass login\` again`
              : `the hub at ${ctx.hubUrl} refused the chat (HTTP ${res.statusCode})`,
          ),
        );
      });
      ws.on('error', (e) => reject(new Error(`cannot reach the hub at ${ctx.hubUrl}: ${e.message}`)));
      ws.on('close', (code, reason) =>
        resolve({ ok: false, message: `the chat closed (${code} ${reason.toString()})` }),
      );
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as AssistantServerFrame;
        if (json) ctx.io.stdout.write(`${JSON.stringify(frame)}\n`);
        switch (frame.type) {
          case 'session':
            state.sessionId = frame.session_id;
            ws.send(
              JSON.stringify({ type: 'text', text: question, ...(opts.yes === true ? { approve: 'writes' } : {}) }),
            );
            return;
          case 'delta':
            if (!json) ctx.io.stdout.write(frame.text);
            streamed = true;
            return;
          case 'tool_call':
            if (!json) {
              if (streamed) ctx.io.stdout.write('\n');
              streamed = false;
              const args = typeof frame.arguments === 'string' ? frame.arguments : JSON.stringify(frame.arguments);
              err(`→ ${frame.name} ${args.length > 200 ? `${args.slice(0, 199)}…` : args}`);
            }
            return;
          case 'tool_result':
            if (!json) err(`  ${frame.isError ? '✗' : '✓'} ${firstLine(frame.text)}`);
            return;
          case 'approval':
            void confirm(frame.prompt, ctx).then((yes) => {
              if (!yes && process.stdin.isTTY !== true)
                err(`  not approved: ${frame.prompt} (run with --yes to approve writes from a script)`);
              ws.send(
                JSON.stringify(
                  yes
                    ? { type: 'approve', id: frame.id }
                    : { type: 'deny', id: frame.id, reason: 'the user said no on the command line' },
                ),
              );
            });
            return;
          case 'text':
            if (!json) {
              if (!streamed) ctx.io.stdout.write(frame.text);
              ctx.io.stdout.write('\n');
            }
            resolve({ ok: true });
            return;
          case 'error':
            resolve({ ok: false, message: `${frame.code}: ${frame.message}` });
            return;
          case 'pong':
            return;
        }
      });
    });
    const id = state.sessionId;
    if (!json && id !== null) err(`(conversation ${id}: continue with --session ${id})`);
    if (!outcome.ok) {
      if (!json) err(outcome.message ?? 'the turn ended without an answer');
      throw new CommandExit(cancelled ? 130 : 1);
    }
  } finally {
    process.off('SIGINT', onSigint);
    ws.close();
  }
}

export function askCommands(program: Command, run: Run): void {
  run(
    program
      .command('ask')
      .description("ask the hub's assistant (it uses the hub's tools as you; writes are asked about first)")
      .argument('<question...>', 'the question')
      .option('--session <id>', 'go on with a conversation (its id is printed after each answer)')
      .option('-y, --yes', 'approve the tools that write (add or remove actions, run tests) without asking'),
    (ctx, words: string[], opts: AskOptions) => ask(ctx, words, opts),
  );
}
