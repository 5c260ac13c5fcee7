// How long one LiveEdit (Debugger.setScriptSource, what a patch does) stops the app's thread, by the number of
// functions in the edited script; and a breakpoint in the same script, for comparison. Prints one JSON line.
//   node bench/agent/liveedit.mjs [functions…]        (default 700 2000 6800)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function child(file) {
  createRequire(import.meta.url)(file);
  const session = new Session();
  session.connect();
  let scriptId;
  session.on('Debugger.scriptParsed', (m) => {
    if (m.params.url === pathToFileURL(file).href) scriptId = m.params.scriptId;
  });
  const post = (method, params) => {
    let out;
    session.post(method, params, (err, res) => {
      if (err) throw err;
      out = res;
    });
    return out;
  };
  post('Debugger.enable', {});
  const { scriptSource } = post('Debugger.getScriptSource', { scriptId });
  const at = scriptSource.indexOf('{', scriptSource.indexOf('function f1(')) + 1;
  const edits = [];
  for (let k = 0; k < 2; k++) {
    const t = performance.now();
    const r = post('Debugger.setScriptSource', {
      scriptId,
      scriptSource: `${scriptSource.slice(0, at)}globalThis.x${k}=1;${scriptSource.slice(at)}`,
    });
    edits.push(performance.now() - t);
    if (r.status && r.status !== 'Ok') throw new Error(r.status);
  }
  const t = performance.now();
  post('Debugger.setBreakpointByUrl', { url: pathToFileURL(file).href, lineNumber: 3 });
  const breakpointMs = performance.now() - t;
  process.stdout.write(JSON.stringify({ liveEditMs: Math.min(...edits), breakpointMs }) + '\n');
}

if (process.argv[2] === '--child') {
  child(process.argv[3]);
} else {
  const counts = process.argv.slice(2).map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'sg-liveedit-'));
  const out = [];
  for (const n of counts.length > 0 ? counts : [700, 2000, 6800]) {
    const fns = Array.from(
      { length: n },
      (_, i) => `function f${i}(a, b) {\n  const c = a + b * ${i};\n  return c > ${i} ? c - 1 : c;\n}`,
    );
    const file = join(dir, `s${n}.cjs`);
    writeFileSync(file, `${fns.join('\n')}\nmodule.exports = { f1 };\n`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const m = JSON.parse(r.stdout);
    const row = {
      functions: n,
      kb: Math.round(fns.join('\n').length / 1024),
      live_edit_ms: Math.round(m.liveEditMs),
      breakpoint_ms: Math.round(m.breakpointMs * 10) / 10,
    };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    out.push(row);
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out) + '\n');
}
