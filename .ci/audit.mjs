#!/usr/bin/env node
// Known advisories in the production dependencies (`npm audit --omit=dev`), from the registry's advisory service.
// A report, never a failure: it always exits 0. Where the service cannot be reached (no internet, a registry mirror
// without the advisory endpoint) or does not answer within the time limit, it says so plainly and CI goes on.
//
//   node .ci/audit.mjs        (SPYGLASS_AUDIT_TIMEOUT_MS: the limit, default 20000)
import { spawn } from 'node:child_process';

const timeoutMs = Number(process.env.SPYGLASS_AUDIT_TIMEOUT_MS ?? 20_000);
const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'];

function npmAudit() {
  return new Promise((resolve) => {
    const args = [
      'audit',
      '--omit=dev',
      '--json',
      '--fetch-retries=0',
      // The service's answer now, not a cached one.
      '--prefer-online',
      `--fetch-timeout=${Math.max(1000, timeoutMs - 2000)}`,
    ];
    let child;
    try {
      child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ error: err });
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ timedOut: true });
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ error: err });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function report(result) {
  const skipped = (why) => `npm audit: NOT RUN — ${why}. Production dependencies were not checked for advisories.`;
  if (result.timedOut) return [skipped(`the advisory service did not answer within ${timeoutMs / 1000} s`)];
  if (result.error !== undefined) return [skipped(`npm could not be started (${result.error.message})`)];
  let json;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    const last = result.stderr.trim().split('\n').pop() ?? '';
    return [skipped(`npm audit exited with ${result.code} without a report${last ? `: ${last}` : ''}`)];
  }
  const counts = json?.metadata?.vulnerabilities;
  if (counts === undefined) {
    // npm's answer when the advisory endpoint fails: {"message": "request to …/advisories/bulk failed, reason: …"}.
    const message = json?.message ?? json?.error?.summary ?? 'no report';
    return [skipped(`the advisory service is unreachable (${String(message).slice(0, 300)})`)];
  }
  const total = Number(counts.total ?? 0);
  const deps = json?.metadata?.dependencies?.prod ?? json?.metadata?.dependencies?.total;
  if (total === 0)
    return [`npm audit: no known advisories in the production dependencies${deps ? ` (${deps} packages)` : ''}.`];
  const lines = [
    `npm audit: ${total} production ${total === 1 ? 'package has' : 'packages have'} known advisories (` +
      SEVERITIES.filter((s) => counts[s] > 0)
        .map((s) => `${counts[s]} ${s}`)
        .join(', ') +
      ') — reported, not failing CI:',
  ];
  const vulns = Object.values(json.vulnerabilities ?? {}).sort(
    (a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.name.localeCompare(b.name),
  );
  for (const v of vulns) {
    const via = (v.via ?? []).map((x) => (typeof x === 'string' ? `via ${x}` : `${x.title} ${x.url ?? ''}`.trim()));
    const fix = v.fixAvailable === false ? 'no fix available' : 'fix available';
    lines.push(`  ${v.severity.padEnd(8)} ${v.name}${v.range ? ` ${v.range}` : ''}: ${via.join('; ')} (${fix})`);
  }
  return lines;
}

for (const line of report(await npmAudit())) console.log(line);
process.exit(0);
