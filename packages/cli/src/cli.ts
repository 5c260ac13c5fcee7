import { isSpyglassClientError } from '@spyglass/client';
import { Command, CommanderError } from 'commander';
import { accountCommands } from './commands/account.js';
import { debugCommands } from './commands/debug.js';
import { k8sCommands } from './commands/k8s.js';
import { askCommands } from './commands/ask.js';
import { mcpCommands } from './commands/mcp.js';
import { runnerCommands } from './commands/runner.js';
import { CommandExit, testCommands } from './commands/tests.js';
import { traceCommands } from './commands/traces.js';
import { Context, type Io } from './context.js';
import { Output } from './output.js';
import { UsageError } from './parse.js';

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/**
 * Runs the `spyglass` command line and resolves to its exit code: 0 ok, 1 failure (hub error, hub unreachable),
 * 2 usage error. Hub errors are printed as `CODE: message`.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = new Command('spyglass')
    .description('Spyglass: add logs, snapshots and metrics to running code, and read what they capture')
    .option('--json', 'machine-readable output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  let failure: unknown;
  const runCommand = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>): void => {
    command.exitOverride().action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      try {
        await handler(new Context(io, cmd), ...(args.slice(0, -1) as never[]));
      } catch (err) {
        failure = err;
      }
    });
  };
  accountCommands(program, io, runCommand);
  debugCommands(program, runCommand);
  traceCommands(program, runCommand);
  k8sCommands(program, runCommand);
  testCommands(program, runCommand);
  runnerCommands(program, runCommand);
  mcpCommands(program, runCommand);
  askCommands(program, runCommand);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return EXIT.OK;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.FAILURE;
      return EXIT.USAGE;
    }
    failure = err;
  }
  if (failure === undefined) return EXIT.OK;
  if (failure instanceof CommandExit) return failure.code;

  const out = new Output({ json: false, stdout: io.stdout, stderr: io.stderr, env: io.env });
  if (failure instanceof UsageError) {
    out.error(`usage error: ${failure.message}`);
    return EXIT.USAGE;
  }
  if (isSpyglassClientError(failure)) {
    if (failure.status === 0) {
      out.error(`UNAVAILABLE: cannot reach the hub (${failure.message}); is it running, and is the URL right?`);
    } else {
      out.error(`${failure.code}: ${failure.message}`);
      for (const issue of failure.issues) {
        if (!failure.message.includes(`${issue.path}: ${issue.message}`))
          out.error(`  ${issue.path}: ${issue.message}`);
      }
      if (failure.status >= 500 && failure.requestId !== null) out.error(`  (request id ${failure.requestId})`);
    }
    return EXIT.FAILURE;
  }
  out.error(`error: ${failure instanceof Error ? failure.message : JSON.stringify(failure)}`);
  return EXIT.FAILURE;
}
