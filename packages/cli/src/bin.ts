import { run } from './cli.js';

run(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`spyglass: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
