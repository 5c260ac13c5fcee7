import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpyglassClientError } from '@spyglass/client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expandDefinitionPaths,
  formatProblem,
  hubIssueProblems,
  loadDefinitions,
  parseGates,
} from '../src/commands/tests.js';

const TEST = (id: string, name = id, extra = ''): string => `type: Test
spec:
  id: ${id}
  name: ${name}
  trigger:
    type: http
    httpRequest:
      url: \${TARGET}/ping
  specs:
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.status = 200
${extra}`;

/** Reading definition files from disk: directories, `${NAME}`, the files they name, every problem with its place. */
describe('definition files', () => {
  let dir: string;
  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-load-'));
    write('suite/b.yaml', TEST('b'));
    write('suite/a.yml', TEST('a'));
    write('suite/c.JSON', JSON.stringify({ type: 'VariableSet', spec: { id: 'v', name: 'v', values: [] } }));
    write('suite/readme.md', '# not a definition');
    mkdirSync(path.join(dir, 'suite', 'nested.yaml'), { recursive: true });
    write('steps/one.yaml', TEST('one', 'Step one'));
    write(
      'flow.yaml',
      `type: Transaction
spec:
  id: flow
  name: Flow
  steps:
    - ./steps/one.yaml
    - a
`,
    );
  });

  it('a directory is its yaml, yml and json files in name order; other paths stay as given', () => {
    expect(expandDefinitionPaths(['suite', 'flow.yaml', 'missing.yaml'], dir)).toEqual([
      path.join('suite', 'a.yml'),
      path.join('suite', 'b.yaml'),
      path.join('suite', 'c.JSON'),
      'flow.yaml',
      'missing.yaml',
    ]);
  });

  it('fills in ${NAME}, resolves suite steps given as paths, runs what the files define, applies the rest first', async () => {
    const loaded = await loadDefinitions(['flow.yaml', path.join('suite', 'a.yml')], {
      cwd: dir,
      env: { TARGET: 'http://shop:8080' },
    });
    expect(loaded.problems).toEqual([]);
    expect(loaded.resources.map((r) => `${r.resource.type}/${r.resource.spec.id}`)).toEqual([
      'Test/one',
      'TestSuite/flow',
      'Test/a',
    ]);
    expect(loaded.targets.map((r) => `${r.resource.type}/${r.resource.spec.id}`)).toEqual(['TestSuite/flow', 'Test/a']);
    const suite = loaded.targets[0]!.resource;
    expect(suite.type === 'TestSuite' && suite.spec.steps).toEqual(['one', 'a']);
    const one = loaded.resources[0]!.resource;
    expect(one.type === 'Test' && one.spec.trigger).toMatchObject({ httpRequest: { url: 'http://shop:8080/ping' } });
    expect(loaded.resources[0]!.file).toBe(path.join('steps', 'one.yaml'));
  });

  it('every problem of every file at once, nothing to apply', async () => {
    write('bad/unset.yaml', TEST('unset').replace('${TARGET}', '${NOT_SET}'));
    write('bad/twice-1.yaml', TEST('same', 'First'));
    write('bad/twice-2.yaml', TEST('same', 'Second'));
    write('bad/empty.yaml', '# nothing here\n');
    const loaded = await loadDefinitions(
      ['bad/unset.yaml', 'bad/empty.yaml', 'bad/nope.yaml', 'bad/twice-1.yaml', 'bad/twice-2.yaml', 'bad/unset.yaml'],
      { cwd: dir, env: { TARGET: 'http://x' } },
    );
    expect(loaded.resources).toEqual([]);
    expect(loaded.targets).toEqual([]);
    const lines = loaded.problems.map(formatProblem);
    expect(lines[0]).toBe(
      'bad/unset.yaml:8:12: spec.trigger.httpRequest.url: environment variable "NOT_SET" is not set (${NOT_SET} would become an empty string)',
    );
    expect(lines).toContain('bad/empty.yaml:1:1: the file defines no resource');
    expect(lines).toContain('bad/nope.yaml:1:1: cannot read the file: no such file or directory');
    expect(lines.filter((l) => l.startsWith('bad/twice-2.yaml:3:'))).toHaveLength(1);
    expect(lines.find((l) => l.startsWith('bad/twice-2.yaml:3:'))).toContain('spec.id: ');
    expect(lines.filter((l) => l.startsWith('bad/unset.yaml'))).toHaveLength(1);
  });

  it("the hub's issues go back to the file and field of the resource they are about", async () => {
    const loaded = await loadDefinitions(['flow.yaml'], { cwd: dir, env: { TARGET: 'http://x' } });
    const err = new SpyglassClientError('INVALID_INPUT', 'invalid definition', {
      status: 400,
      issues: [
        { path: 'resources.1.spec.steps.1', message: 'no test "a"' },
        { path: 'body.resources.0.spec.specs.0.assertions.0', message: 'too slow' },
        { path: 'resources.1.spec.nothing.here', message: 'somewhere' },
        { path: 'dryRun', message: 'odd' },
      ],
    });
    expect(hubIssueProblems(err, loaded.resources).map(formatProblem)).toEqual([
      'flow.yaml:7:7: spec.steps[1]: no test "a"',
      'steps/one.yaml:12:11: spec.specs[0].assertions[0]: too slow',
      'flow.yaml:3:3: spec.nothing.here: somewhere',
      '(hub):0:0: dryRun: odd',
    ]);
  });
});

describe('--required-gates', () => {
  it('test-specs by default; analyzer gates accepted with a warning; unknown ones refused', () => {
    expect(parseGates([])).toEqual({ specsRequired: true, warnings: [] });
    expect(parseGates(['test-specs'])).toEqual({ specsRequired: true, warnings: [] });
    const both = parseGates(['analyzer-score,test-specs']);
    expect(both.specsRequired).toBe(true);
    expect(both.warnings).toEqual([
      'warning: gate analyzer-score is ignored: Spyglass has no trace analyzer (only test-specs is checked)',
    ]);
    const analyzerOnly = parseGates(['analyzer-rules']);
    expect(analyzerOnly.specsRequired).toBe(false);
    expect(analyzerOnly.warnings[1]).toBe(
      'warning: test-specs is not a required gate: failing specs do not fail this command',
    );
    expect(() => parseGates(['test-specs', 'speed'])).toThrow(
      '--required-gates: unknown gate "speed" (known: test-specs, analyzer-score, analyzer-rules)',
    );
  });
});
