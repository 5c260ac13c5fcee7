import { runnerNameSchema } from '@spyglass/trace-tests';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { parsePositiveInt, UsageError } from '../parse.js';
import { startRunner } from '../runner.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface RunnerFlags {
  hub?: string;
  key?: string;
  name: string;
  otlpPort: string;
  otlpHost: string;
  allow: string[];
  deny: string[];
}

/** `spyglass runner`: sends trace-test triggers from inside a network the hub cannot reach. */
export function runnerCommands(program: Command, run: Run): void {
  const cmd = program
    .command('runner')
    .description(
      'run the triggers of tests that name this runner (`runner: NAME`) from this network, and forward OTLP from apps here to the hub',
    )
    .option('--hub <url>', 'the hub (default: the signed-in hub, or SPYGLASS_URL)')
    .option('--key <sgp_…>', 'a pool key (default: SPYGLASS_KEY)')
    .requiredOption('--name <name>', 'the name tests use in `runner:`')
    .option('--otlp-port <port>', 'local OTLP/HTTP receiver port (0: off)', '4318')
    .option('--otlp-host <host>', 'address of the local OTLP receiver', '127.0.0.1')
    .option('--allow <cidr>', 'networks triggers may reach (repeatable; default: anywhere not denied)', collect, [])
    .option(
      '--deny <cidr>',
      'networks triggers never reach (repeatable; default: link-local and metadata)',
      collect,
      [],
    );
  run(cmd, async (ctx: Context) => {
    const f = cmd.opts<RunnerFlags>();
    const name = runnerNameSchema.safeParse(f.name);
    if (!name.success) throw new UsageError(`--name ${name.error.issues[0]?.message ?? 'is invalid'}`);
    const key = f.key ?? ctx.io.env.SPYGLASS_KEY;
    if (key === undefined || key === '') throw new UsageError('a pool key is needed: --key sgp_… or SPYGLASS_KEY');
    const hubUrl = (f.hub ?? ctx.hubUrl).replace(/\/+$/, '');
    const port = f.otlpPort === '0' ? null : parsePositiveInt(f.otlpPort, '--otlp-port');
    const runner = await startRunner({
      hubUrl,
      key,
      name: name.data,
      otlpPort: port,
      otlpHost: f.otlpHost,
      allow: f.allow,
      deny: f.deny,
      log: (line) => ctx.io.stderr.write(`${new Date().toISOString()} ${line}\n`),
      version: '0.1.0',
    });
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await runner.close();
  });
}
