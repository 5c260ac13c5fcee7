import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, SimAgent, createHub, type TestHub } from '../../server/test/kit/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'packages/cli/bin/spyglass.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// `spyglass pools policy get|set` as a process against a real hub, with a simulated agent of the pool listening.
describe('spyglass pools policy', () => {
  let hub: TestHub;
  let home: string;
  const cli = (args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: home }, timeout: 30_000 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
          resolve({ code, stdout, stderr });
        },
      );
    });

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'sg-cli-policy-'));
    hub = await createHub({ listen: true });
    const login = await cli(['login', '--url', hub.url, '--email', 'admin@localhost', '--password', ADMIN_PASSWORD]);
    expect(login.code, login.stderr).toBe(0);
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('sets a policy from a YAML file, pushes it to the agents, and prints it back as YAML', async () => {
    const pool = await hub.createPool('cards');
    const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
    const file = path.join(home, 'policy.yaml');
    writeFileSync(
      file,
      [
        'redaction:',
        '  names: [iban]',
        '  values:',
        "    - 'ACME-\\d{4}'",
        'blocklist:',
        "  - '**/secrets/**'",
        'quotas:',
        '  cpuBudgetPct: 2',
        'capture:',
        '  maxStringLength: 64',
        '',
      ].join('\n'),
    );
    const set = await cli(['pools', 'policy', 'set', 'cards', '--file', file]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('policy of pool cards set: revision 1\n');
    const pushed = await agent.next('policy');
    expect(pushed.policy).toMatchObject({
      redaction: { names: ['iban'], values: ['ACME-\\d{4}'] },
      quotas: { cpuBudgetPct: 2 },
    });
    await agent.close();

    const got = await cli(['pools', 'policy', 'get', 'cards']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toMatch(/^# pool cards, revision 1 \(set .+\)\n/);
    expect(got.stdout).toContain('  names:\n    - iban\n');
    expect(got.stdout).toContain('  - "**/secrets/**"\n');
    expect(got.stdout).toContain('  cpuBudgetPct: 2\n');
  });

  it('refuses a catastrophic pattern with the hub message, and a broken file with its line', async () => {
    await hub.createPool('strict');
    const bad = path.join(home, 'bad.yaml');
    writeFileSync(bad, "redaction:\n  values: ['(a+)+$']\n");
    const refused = await cli(['pools', 'policy', 'set', 'strict', '-f', bad]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/redaction\.values\.0: nested quantifiers can backtrack catastrophically/);
    const broken = path.join(home, 'broken.yaml');
    writeFileSync(broken, 'redaction:\n  names: [iban\n');
    const syntax = await cli(['pools', 'policy', 'set', 'strict', '-f', broken]);
    expect(syntax.code).not.toBe(0);
    expect(syntax.stderr).toMatch(/broken\.yaml: .*line/);
    const missing = await cli(['pools', 'policy', 'set', 'strict', '-f', path.join(home, 'nope.yaml')]);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml: no such file/);
    expect((await hub.api('GET', '/api/v1/pools/strict/policy')).body.revision).toBe(0);
  });
});
