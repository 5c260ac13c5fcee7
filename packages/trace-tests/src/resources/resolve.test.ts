import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseResources, type DefinitionProblem } from './parse.js';
import { looksLikeFilePath, looksLikeProtoPath, resolveReferences, type ResolveOptions } from './resolve.js';

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url));
const disk: ResolveOptions = {
  readFile: (path) => readFile(path, 'utf8'),
  dirname: (path) => posix.dirname(path),
  join: (...parts) => posix.join(...parts),
};

async function resolveFile(name: string, options: ResolveOptions = disk) {
  const file = posix.join(testdata, name);
  const parsed = parseResources(await options.readFile(file), { file });
  expect(parsed.problems).toEqual([]);
  return resolveReferences(parsed.resources, options);
}

/** Files in memory; a missing one rejects as a file system would. */
function memory(files: Record<string, string>, env?: Record<string, string>): ResolveOptions {
  return {
    readFile: (path) =>
      path in files ? Promise.resolve(files[path]!) : Promise.reject(new Error(`ENOENT: no such file, open '${path}'`)),
    dirname: (path) => posix.dirname(path),
    join: (...parts) => posix.join(...parts),
    ...(env ? { env } : {}),
  };
}

const brief = (problems: readonly DefinitionProblem[]): string[] =>
  problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}`);

describe('resolveReferences', () => {
  it("puts a suite's step files before it and replaces the steps with their ids", async () => {
    const { resources, problems } = await resolveFile('suite.yaml');
    expect(problems).toEqual([]);
    expect(resources.map((r) => [posix.relative(testdata, r.file), r.resource.type, r.resource.spec.id])).toEqual([
      ['step-1.yaml', 'Test', 'step-one'],
      ['step-2.yaml', 'Test', 'test-step-two-order-the-book'],
      ['suite.yaml', 'TestSuite', 'checkout-flow'],
    ]);
    const suite = resources[2]?.resource;
    // A step that is not a path is a test id and stays.
    expect(suite?.type === 'TestSuite' && suite.spec.steps).toEqual([
      'step-one',
      'test-step-two-order-the-book',
      'existing-test-id',
    ]);
  });

  it('applies a test named twice once', async () => {
    const { resources, problems } = await resolveFile('transaction.yaml');
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.resource.spec.id)).toEqual(['step-one', 'legacy-flow']);
    const suite = resources[1]?.resource;
    expect(suite?.type === 'TestSuite' && suite.spec.steps).toEqual(['step-one', 'step-one']);
  });

  it("reads a test's .proto file and polling profile file", async () => {
    const { resources, problems } = await resolveFile('grpc-file.yaml');
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.resource.spec.id)).toEqual(['patient', 'reserve-seat-file']);
    const test = resources[1]?.resource;
    expect(test?.type === 'Test' && test.spec.pollingProfile).toBe('patient');
    expect(test?.type === 'Test' && test.spec.trigger.type === 'grpc' && test.spec.trigger.grpc.protobufFile).toBe(
      await readFile(posix.join(testdata, 'seats.proto'), 'utf8'),
    );
  });

  it('leaves inline .proto text alone', async () => {
    const { resources } = await resolveFile('grpc-inline.yaml');
    const test = resources[0]?.resource;
    expect(test?.type === 'Test' && test.spec.trigger.type === 'grpc' && test.spec.trigger.grpc.protobufFile).toMatch(
      /^\/\/ seats service\nsyntax = "proto3";/,
    );
  });

  it('reads an HTTP body given as a relative path', async () => {
    const test =
      'type: Test\nspec:\n  name: Body file\n  trigger:\n    type: http\n    httpRequest:\n      url: http://a\n      body: ./body.json\n';
    const io = memory({ '/t/test.yaml': test, '/t/body.json': '{"id": 52}\n' });
    const parsed = parseResources(test, { file: '/t/test.yaml' });
    const { resources } = await resolveReferences(parsed.resources, io);
    const resource = resources[0]?.resource;
    expect(
      resource?.type === 'Test' && resource.spec.trigger.type === 'http' && resource.spec.trigger.httpRequest.body,
    ).toBe('{"id": 52}\n');
  });

  it('parses the files it reads with the environment', async () => {
    const suite = 'type: TestSuite\nspec:\n  name: S\n  steps: [../tests/t.yaml]\n';
    const test = 'type: Test\nspec:\n  name: T\n  trigger:\n    type: http\n    httpRequest:\n      url: ${HOST}/x\n';
    const io = memory({ '/w/suites/s.yaml': suite, '/w/tests/t.yaml': test }, { HOST: 'shop:8080' });
    const { resources, problems } = await resolveReferences(
      parseResources(suite, { file: '/w/suites/s.yaml' }).resources,
      io,
    );
    expect(problems).toEqual([]);
    const resource = resources[0]?.resource;
    expect(
      resource?.type === 'Test' && resource.spec.trigger.type === 'http' && resource.spec.trigger.httpRequest.url,
    ).toBe('http://shop:8080/x');
  });

  it('reports a file it cannot read at the field that names it', async () => {
    const suite = 'type: TestSuite\nspec:\n  name: S\n  steps:\n    - ./ok.yaml\n    - ./missing.yaml\n';
    const ok = 'type: Test\nspec:\n  name: OK\n  trigger:\n    type: traceid\n    traceid:\n      id: ${var:ID}\n';
    const { resources, problems } = await resolveReferences(
      parseResources(suite, { file: '/w/s.yaml' }).resources,
      memory({ '/w/s.yaml': suite, '/w/ok.yaml': ok }),
    );
    expect(resources).toEqual([]);
    expect(brief(problems)).toEqual([
      `/w/s.yaml:6:7 spec.steps[1]: cannot read "./missing.yaml" (/w/missing.yaml): ENOENT: no such file, open '/w/missing.yaml'`,
    ]);
  });

  it('reports a step file that does not hold one test, and problems inside the files read', async () => {
    const suite = [
      'type: TestSuite',
      'spec:',
      '  name: S',
      '  steps:',
      '    - ./vars.yaml',
      '    - ./two.yaml',
      '    - ./typo.yaml',
      '    - ./empty.yaml',
    ].join('\n');
    const vars = 'type: VariableSet\nspec:\n  name: V\n  values: []\n';
    const test = (name: string) =>
      `type: Test\nspec:\n  name: ${name}\n  trigger:\n    type: traceid\n    traceid:\n      id: x\n`;
    const typo = 'type: Test\nspec:\n  name: Typo\n  trigger:\n    type: traceid\n    traceid:\n      idd: x\n';
    const io = memory({
      '/w/vars.yaml': vars,
      '/w/two.yaml': `${test('A')}---\n${test('B')}`,
      '/w/typo.yaml': typo,
      '/w/empty.yaml': '# nothing\n',
    });
    const { problems } = await resolveReferences(parseResources(suite, { file: '/w/s.yaml' }).resources, io);
    expect(brief(problems)).toEqual([
      '/w/s.yaml:5:7 spec.steps[0]: "./vars.yaml" holds a VariableSet, not a Test',
      `/w/s.yaml:6:7 spec.steps[1]: "./two.yaml" holds 2 resources; a suite step's file holds one Test`,
      // The problem in the file read, at its own place.
      '/w/typo.yaml:7:7 spec.trigger.traceid.idd: unknown field "idd" (did you mean "id"?)',
      `/w/s.yaml:8:7 spec.steps[3]: "./empty.yaml" holds no resource; a suite step's file holds one Test`,
    ]);
  });

  it('reports two files with different resources under one id', async () => {
    const test = (url: string) =>
      `type: Test\nspec:\n  id: same\n  name: Same\n  trigger:\n    type: http\n    httpRequest:\n      url: ${url}\n`;
    const suite = 'type: TestSuite\nspec:\n  name: S\n  steps: [./a.yaml, ./b.yaml]\n';
    const io = memory({ '/w/a.yaml': test('http://a'), '/w/b.yaml': test('http://b') });
    const { problems } = await resolveReferences(parseResources(suite, { file: '/w/s.yaml' }).resources, io);
    expect(brief(problems)).toEqual(['/w/b.yaml:3:7 spec.id: /w/a.yaml (line 1) has another Test with the id "same"']);
  });

  it('takes an absolute reference as it is', async () => {
    const test =
      'type: Test\nspec:\n  name: T\n  pollingProfile: /profiles/p.yaml\n  trigger:\n    type: traceid\n    traceid:\n      id: x\n';
    const profile = 'type: PollingProfile\nspec:\n  id: p\n  name: P\n  periodic: { retryDelay: 1s, timeout: 1m }\n';
    const { resources, problems } = await resolveReferences(
      parseResources(test, { file: '/w/t.yaml' }).resources,
      memory({ '/profiles/p.yaml': profile }),
    );
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.resource.spec.id)).toEqual(['p', 'test-t']);
  });
});

describe('what looks like a file', () => {
  it('takes relative, absolute and .yaml/.yml/.json names as paths and anything else as an id', () => {
    expect(['./a.yaml', '../t/b.yml', '/abs/c', 'x.yaml', 'X.JSON', 'C:\\t\\d.yaml'].map(looksLikeFilePath)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['9wtAH2_Vg', 'Qti5R3_VR', 'existing-test-id', '.env'].map(looksLikeFilePath)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('takes .proto text by its syntax line, a service or several lines, and anything else as a path', () => {
    expect(['./api.proto', 'api.proto', '/protos/api.proto'].map(looksLikeProtoPath)).toEqual([true, true, true]);
    expect(
      [
        'syntax = "proto3";',
        '// a comment first\nsyntax = "proto3";\n',
        'service Seats { rpc reserve (R) returns (R) {} }',
        '',
      ].map(looksLikeProtoPath),
    ).toEqual([false, false, false, false]);
  });
});
