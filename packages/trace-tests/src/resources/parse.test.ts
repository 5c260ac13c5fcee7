import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveResourceId, parseResources, type DefinitionProblem } from './parse.js';

const testdata = new URL('./testdata/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, testdata), 'utf8');
const parseFixture = (name: string, env?: Record<string, string>) =>
  parseResources(read(name), { file: `testdata/${name}`, ...(env ? { env } : {}) });
/** `line:column path: message`, the way the CLI prints a problem after the file name. */
const brief = (problems: readonly DefinitionProblem[]): string[] =>
  problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);

function onlyResource(name: string, env?: Record<string, string>) {
  const { resources, problems } = parseFixture(name, env);
  expect(brief(problems)).toEqual([]);
  expect(resources).toHaveLength(1);
  return resources[0]!.resource;
}

describe('parseResources: tests', () => {
  it('reads an HTTP test with folded and block selectors, outputs and defaults', () => {
    expect(onlyResource('http-test.yaml')).toEqual({
      type: 'Test',
      spec: {
        id: 'add-book',
        name: 'Bookstore - Add',
        description: 'Add a book to the catalogue',
        trigger: {
          type: 'http',
          httpRequest: {
            url: 'http://catalogue:8081/books',
            method: 'POST',
            headers: [{ key: 'Content-Type', value: 'application/json' }],
            body: '{"title":"Dune","isbn":"9780441013593"}',
            sslVerification: false,
          },
        },
        specs: [
          {
            name: 'The API answers 201',
            selector: 'span[tracetest.span.type="http" name="POST /books" http.method="POST"]',
            assertions: ['attr:http.status_code = 201', 'attr:tracetest.span.duration < 500ms'],
          },
          {
            name: 'The book is stored',
            // Two lines in the file, folded into one by YAML.
            selector:
              'span[tracetest.span.type="database" name="insert books" db.system="postgres" db.operation="insert" db.sql.table="books"]',
            assertions: [`attr:db.result contains '"isbn":"9780441013593"'`],
          },
          {
            selector: 'span[tracetest.span.type="messaging" name="books publish"]',
            assertions: ['attr:tracetest.selected_spans.count = 1'],
          },
        ],
        outputs: [
          {
            name: 'BOOK_ID',
            selector: 'span[name = "Tracetest trigger"]',
            value: "attr:tracetest.response.body | json_path '$.id'",
          },
        ],
        skipTraceCollection: false,
        probes: [],
      },
    });
  });

  it('reads a gRPC test with the .proto inline', () => {
    const resource = onlyResource('grpc-inline.yaml');
    expect(resource.type === 'Test' && resource.spec.trigger).toEqual({
      type: 'grpc',
      grpc: {
        protobufFile: read('seats.proto').replace(/^/, '// seats service\n'),
        address: 'seats-rpc:8082',
        method: 'theatre.Seats.reserve',
        metadata: [{ key: 'x-tenant', value: '${var:TENANT}' }],
        request: '{\n  "row": "F"\n}',
      },
    });
  });

  it('leaves a .proto path and a polling profile path for resolveReferences', () => {
    const resource = onlyResource('grpc-file.yaml');
    expect(resource.type === 'Test' && [resource.spec.trigger, resource.spec.pollingProfile]).toEqual([
      {
        type: 'grpc',
        grpc: {
          protobufFile: './seats.proto',
          address: 'seats-rpc:8082',
          method: 'theatre.Seats.reserve',
          metadata: [],
          request: '{"row": "G"}',
        },
      },
      './polling.yaml',
    ]);
  });

  it('reads a Kafka test written with unindented lists', () => {
    const resource = onlyResource('kafka-test.yaml');
    expect(resource.type === 'Test' && resource.spec.trigger).toEqual({
      type: 'kafka',
      kafka: {
        brokerUrls: ['broker:9092'],
        topic: 'orders',
        headers: [],
        messageKey: 'order-key',
        messageValue: '{"id":7}',
        sslVerification: false,
      },
    });
  });

  it('reads a spec without a selector as one over every span, as Tracetest does', () => {
    const resource = onlyResource('spec-without-selector.yaml');
    expect(resource.type === 'Test' && resource.spec.specs).toEqual([
      {
        name: 'Every span ended without an error',
        selector: '',
        assertions: ['attr:tracetest.span.status_code != "STATUS_CODE_ERROR"'],
      },
      { selector: 'span[name = "GET /books"]', assertions: ['attr:http.status_code = 200'] },
    ]);
  });

  it('keeps ${env:X} and ${var:X} for the run (only ${NAME} is the CLI environment)', () => {
    const resource = onlyResource('traceid-test.yaml', {});
    expect(resource.type === 'Test' && resource.spec.trigger).toEqual({
      type: 'traceid',
      traceid: { id: '${env:TRACE_ID}' },
    });
  });

  it('gives a test without an id one from its name, adds http:// and upper-cases the method', () => {
    const resource = onlyResource('step-2.yaml');
    expect(resource.type === 'Test' && [resource.spec.id, resource.spec.trigger]).toEqual([
      'test-step-two-order-the-book',
      {
        type: 'http',
        httpRequest: {
          url: 'http://catalogue:8081/orders',
          method: 'POST',
          headers: [],
          body: '{"book":"${var:FIRST_BOOK}"}',
          sslVerification: false,
        },
      },
    ]);
  });

  it('replaces ${NAME} from the environment and types a plain value that was only a replacement', () => {
    const resource = onlyResource('env-vars.yaml', {
      BASE_URL: 'catalogue:8081',
      API_KEY: 'k3y: #1',
      VERIFY_TLS: 'true',
    });
    expect(resource.type === 'Test' && resource.spec.trigger).toEqual({
      type: 'http',
      httpRequest: {
        url: 'http://catalogue:8081/books',
        method: 'GET',
        headers: [],
        // One value, though it has ": " and " #".
        auth: { type: 'apiKey', apiKey: { key: 'X-Key', value: 'k3y: #1', in: 'header' } },
        sslVerification: true,
      },
    });
    expect(resource.type === 'Test' && resource.spec.specs[0]?.assertions).toEqual([
      'attr:http.response.header.x-key = "k3y: #1"',
      'attr:http.url contains "${var:PATH}"',
    ]);
  });

  it('replaces nothing without an environment (the hub gets files the CLI filled in)', () => {
    const { problems } = parseFixture('env-vars.yaml');
    // What is left is not Tracetest's language (the run would evaluate `${BASE_URL}` as an expression) and
    // `${VERIFY_TLS}` stays text, which a true/false field does not take.
    expect(brief(problems)).toEqual([
      '8:14 spec.trigger.httpRequest.url: invalid syntax "${BASE_URL}/books": unexpected token "BASE_URL" (expected a value)',
      '14:20 spec.trigger.httpRequest.auth.apiKey.value: invalid syntax "${API_KEY}": unexpected token "API_KEY" (expected a value)',
      '16:24 spec.trigger.httpRequest.sslVerification: expected true or false, found the text "${VERIFY_TLS}"',
      '20:48 spec.specs[0].assertions[0]: invalid syntax "attr:http.response.header.x-key = "${API_KEY}"": unexpected token "API_KEY" (expected a value)',
    ]);
  });
});

describe('parseResources: legacy forms', () => {
  it('reads the v1 JSON specs and outputs lists and the v2 trigger names', () => {
    const resource = onlyResource('legacy-v1.json');
    expect(resource.type === 'Test' && resource.spec).toMatchObject({
      trigger: {
        type: 'http',
        httpRequest: { url: 'http://catalogue:8081/health', method: 'GET', headers: [], sslVerification: false },
      },
      specs: [
        {
          selector: 'span[tracetest.span.type="general" name="Tracetest trigger"]',
          name: 'trigger check',
          assertions: ['attr:name = "Tracetest trigger"'],
        },
        { selector: '', name: 'DURATION_CHECK', assertions: ['attr:tracetest.span.duration < 2s'] },
      ],
      outputs: [{ name: 'USER_ID', selector: 'span[name = "user creation"]', value: 'attr:user_id' }],
    });
  });

  it('reads the v1 specs map, the outputs map, authentication: and basic.user', () => {
    const resource = onlyResource('legacy-map.yaml');
    expect(resource.type === 'Test' && resource.spec).toMatchObject({
      trigger: {
        type: 'http',
        httpRequest: {
          url: 'http://my-api.example/login',
          auth: { type: 'basic', basic: { username: 'alice', password: 'wonderland' } },
        },
      },
      specs: [
        { selector: 'span[name = "GET /login"]', name: 'login answers', assertions: ['attr:http.status_code = 200'] },
        { selector: 'span[name = "select users"]', assertions: ['attr:db.system = "postgres"'] },
      ],
      outputs: [
        { name: 'USER_NAME', selector: 'span[name = "select users"]', value: "attr:db.result | json_path '$.name'" },
      ],
    });
  });

  it('reads JSON indented with tabs', () => {
    const json = '{\n\t"type": "TestSuite",\n\t"spec": {\n\t\t"name": "Tabbed",\n\t\t"steps": ["a", "b"]\n\t}\n}\n';
    const { resources, problems } = parseResources(json, { file: 'tabs.json' });
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.resource)).toEqual([
      { type: 'TestSuite', spec: { id: 'testsuite-tabbed', name: 'Tabbed', steps: ['a', 'b'] } },
    ]);
  });

  it('reads Transaction as TestSuite and Environment as VariableSet, skipping createdAt', () => {
    expect(onlyResource('transaction.yaml')).toEqual({
      type: 'TestSuite',
      spec: {
        id: 'legacy-flow',
        name: 'Legacy flow',
        description: 'a transaction',
        steps: ['./step-1.yaml', './step-1.yaml'],
      },
    });
    expect(onlyResource('environment.yaml')).toEqual({
      type: 'VariableSet',
      spec: { id: '.env', name: '.env', description: '', values: [{ key: 'FIRST', value: 'one', type: 'raw' }] },
    });
  });

  it('skips what Tracetest exports leave empty: other trigger blocks, unsupported connection settings', () => {
    const { resources, problems } = parseFixture('exported.yaml');
    expect(brief(problems)).toEqual([]);
    expect(resources.map((r) => r.resource)).toEqual([
      {
        type: 'Test',
        spec: {
          id: 'list-books',
          name: 'List books',
          trigger: {
            type: 'http',
            httpRequest: { url: 'http://catalogue:8081/books', method: 'GET', headers: [], sslVerification: false },
          },
          specs: [{ selector: 'span[name = "GET /books"]', assertions: ['attr:http.status_code = 200'] }],
          outputs: [],
          skipTraceCollection: false,
          probes: [],
        },
      },
      {
        type: 'DataStore',
        spec: {
          id: 'current',
          name: 'Jaeger',
          type: 'jaeger',
          default: false,
          jaeger: { endpoint: 'jaeger-query:16685', tls: { insecure: true } },
        },
      },
    ]);
  });

  it('reads a Tempo endpoint written directly under tempo: as gRPC', () => {
    const text = 'type: DataStore\nspec:\n  name: Tempo\n  type: tempo\n  tempo:\n    endpoint: tempo:9095\n';
    const { resources, problems } = parseResources(text, { file: 'tempo.yaml' });
    expect(problems).toEqual([]);
    expect(resources[0]?.resource.spec).toEqual({
      id: 'datastore-tempo',
      name: 'Tempo',
      type: 'tempo',
      default: false,
      tempo: { type: 'grpc', grpc: { endpoint: 'tempo:9095' } },
    });
  });
});

describe('parseResources: other resources', () => {
  it('reads suites, variable sets and polling profiles', () => {
    expect(onlyResource('suite.yaml')).toEqual({
      type: 'TestSuite',
      spec: {
        id: 'checkout-flow',
        name: 'Checkout flow',
        description: 'Add a book then order it',
        steps: ['./step-1.yaml', 'step-2.yaml', 'existing-test-id'],
      },
    });
    // `value: 8081` is a number in YAML; a variable's value is its text.
    expect(onlyResource('variables.yaml')).toEqual({
      type: 'VariableSet',
      spec: {
        id: 'shop-vars',
        name: 'shop-vars',
        values: [
          { key: 'BOOK_TITLE', value: 'Dune', type: 'raw' },
          { key: 'PORT', value: '8081', type: 'raw' },
          { key: 'TOKEN', value: 's3cret', type: 'secret' },
        ],
      },
    });
    expect(onlyResource('polling.yaml')).toEqual({
      type: 'PollingProfile',
      spec: {
        id: 'patient',
        name: 'Patient',
        default: true,
        strategy: 'periodic',
        periodic: { retryDelay: '2s', timeout: '3m', selectorMatchRetries: 5 },
      },
    });
  });

  it('reads data stores', () => {
    expect(onlyResource('tempo.yaml').spec).toEqual({
      id: 'current',
      name: 'Grafana Tempo',
      type: 'tempo',
      default: true,
      tempo: { type: 'grpc', grpc: { endpoint: 'tempo:9095', tls: { insecure: true } } },
    });
    expect(onlyResource('otlp.yaml').spec).toEqual({
      id: 'current',
      name: 'OpenTelemetry Collector',
      type: 'otlp',
      default: false,
    });
  });

  it('reads a Tempo connection without a type as the one whose block is written', () => {
    const { resources, problems } = parseFixture('tempo-untyped.yaml');
    expect(brief(problems)).toEqual([]);
    expect(resources.map((r) => r.resource.type === 'DataStore' && r.resource.spec.tempo)).toEqual([
      { type: 'grpc', grpc: { endpoint: 'tempo:9095', tls: { insecure: true } } },
      { type: 'http', http: { url: 'http://tempo:3200' } },
    ]);
  });

  it('reads several documents, each with its line', () => {
    const { resources, problems } = parseFixture('provision.yaml');
    expect(problems).toEqual([]);
    expect(resources.map((r) => [r.line, r.resource])).toEqual([
      [
        2,
        {
          type: 'PollingProfile',
          spec: {
            id: 'pollingprofile-default',
            name: 'Default',
            default: true,
            strategy: 'periodic',
            periodic: { retryDelay: '5s', timeout: '10m' },
          },
        },
      ],
      [
        12,
        {
          type: 'DataStore',
          spec: {
            id: 'datastore-jaeger',
            name: 'jaeger',
            type: 'jaeger',
            default: false,
            jaeger: { endpoint: 'jaeger:16685', tls: { insecure: true } },
          },
        },
      ],
    ]);
  });

  it('reads a JSON array of resources', () => {
    const { resources, problems } = parseFixture('resources.json');
    expect(problems).toEqual([]);
    expect(resources.map((r) => [r.line, r.resource.type, r.resource.spec.id])).toEqual([
      [2, 'VariableSet', 'variableset-from-json'],
      [3, 'PollingProfile', 'pollingprofile-quick'],
    ]);
  });

  it('records where each field is', () => {
    const { resources } = parseFixture('suite.yaml');
    expect(resources[0]?.file).toBe('testdata/suite.yaml');
    // Line 7 is a comment.
    expect(resources[0]?.positions['spec.steps[1]']).toEqual({ line: 9, column: 7 });
    expect(resources[0]?.positions['spec.name']).toEqual({ line: 4, column: 9 });
  });

  it('follows YAML anchors and aliases', () => {
    const text = [
      'type: Test',
      'spec:',
      '  name: Anchors',
      '  trigger:',
      '    type: http',
      '    httpRequest:',
      '      url: http://a',
      '      headers: &common',
      '        - key: X-Team',
      '          value: books',
      '  specs:',
      '    - selector: span[name = "a"]',
      '      assertions: &ok [attr:http.status_code = 200]',
      '    - selector: span[name = "b"]',
      '      assertions: *ok',
    ].join('\n');
    const { resources, problems } = parseResources(text, { file: 'anchors.yaml' });
    expect(problems).toEqual([]);
    const spec = resources[0]?.resource.type === 'Test' ? resources[0].resource.spec : undefined;
    expect(spec?.specs.map((s) => s.assertions)).toEqual([
      ['attr:http.status_code = 200'],
      ['attr:http.status_code = 200'],
    ]);
  });

  it('returns nothing for an empty file or one that is only comments', () => {
    expect(parseResources('', { file: 'empty.yaml' })).toEqual({ resources: [], problems: [] });
    expect(parseResources('# nothing yet\n---\n', { file: 'empty.yaml' })).toEqual({ resources: [], problems: [] });
  });
});

describe('parseResources: problems with their file, line, column and path', () => {
  it('names the file of each problem', () => {
    const { resources, problems } = parseFixture('bad/unknown-type.yaml');
    expect(resources).toEqual([]);
    expect(problems[0]).toEqual({
      file: 'testdata/bad/unknown-type.yaml',
      line: 1,
      column: 7,
      path: 'type',
      message:
        'unknown resource type "Tset" (did you mean "Test"?); known types: Test, TestSuite, VariableSet, PollingProfile, DataStore (Transaction and Environment are read as TestSuite and VariableSet)',
    });
  });

  it('reports an unknown type and one of Tracetest that is not supported', () => {
    expect(brief(parseFixture('bad/unknown-type.yaml').problems)).toEqual([
      '1:7 type: unknown resource type "Tset" (did you mean "Test"?); known types: Test, TestSuite, VariableSet, PollingProfile, DataStore (Transaction and Environment are read as TestSuite and VariableSet)',
      '5:7 type: resource type "TestRunner" is Tracetest\'s and is not supported here; known types: Test, TestSuite, VariableSet, PollingProfile, DataStore (Transaction and Environment are read as TestSuite and VariableSet)',
    ]);
  });

  it('reports unknown fields, with the field meant when it is a near miss', () => {
    expect(brief(parseFixture('bad/unknown-fields.yaml').problems)).toEqual([
      '10:7 spec.trigger.httpRequest.timeout: unknown field "timeout" (known fields: url, method, headers, body, auth, sslVerification)',
      // Said once: not also "assertions is missing".
      '13:7 spec.specs[0].assertion: unknown field "assertion" (did you mean "assertions"?)',
      '15:3 spec.summary: unknown field "summary" (known fields: id, name, description, trigger, specs, outputs, pollingProfile, skipTraceCollection, runner, probes)',
    ]);
  });

  it('reports two specs with one selector, naming both, and two outputs with one name', () => {
    expect(brief(parseFixture('bad/duplicates.yaml').problems)).toEqual([
      '16:17 spec.specs[2].selector: specs[0] and specs[2] have the same selector; Tracetest keeps the results of only one of them, so put their assertions in one spec',
      '22:13 spec.outputs[1].name: outputs[0] and outputs[1] are both named "COUNT"; the later value would replace the earlier one',
    ]);
  });

  it('reports each ${NAME} that is not set where it is written', () => {
    expect(brief(parseFixture('bad/missing-env.yaml', { TENANT: 'acme' }).problems)).toEqual([
      '11:26 spec.trigger.httpRequest.headers[0].value: environment variable "API_TOKEN" is not set (${API_TOKEN} would become an empty string)',
      // Inside a literal block: the exact column too.
      '15:21 spec.trigger.httpRequest.body: environment variable "REGION" is not set (${REGION} would become an empty string)',
    ]);
  });

  it('reports wrong types, enums, a headers map, durations and missing fields', () => {
    expect(brief(parseFixture('bad/wrong-types.yaml').problems)).toEqual([
      '5:24 spec.skipTraceCollection: expected true or false, found the text "yes"',
      '10:15 spec.trigger.httpRequest.method: "FETCH" is not one of GET, PUT, POST, PATCH, DELETE, COPY, HEAD, OPTIONS, LINK, UNLINK, PURGE, LOCK, UNLOCK, PROPFIND, VIEW',
      '12:9 spec.trigger.httpRequest.headers: expected a list of {key, value} entries, found a map; write each entry as "- key: <name>" with "value: <value>" under it',
      '13:10 spec.specs: expected a list, found the text "span[name = "GET /books"]"',
      '19:17 spec.periodic.retryDelay: "5" is not a duration; write it as Tracetest does: "500ms", "5s", "1m"',
      '20:14 spec.periodic.timeout: "1 minute" is not a duration; write it as Tracetest does: "500ms", "5s", "1m"',
      '21:27 spec.periodic.selectorMatchRetries: expected a whole number, found the number 1.5',
      '24:1 spec.name: required field "name" is missing',
      '26:5 spec.values: expected a list, found a map',
    ]);
  });

  it('reports assertions without attr: with the fix', () => {
    expect(brief(parseFixture('bad/legacy-assertions.yaml').problems)).toEqual([
      '13:7 spec.specs[0].assertions[0]: invalid syntax "tracetest.span.duration <= 100ms": "tracetest.span.duration" needs the "attr:" prefix; write "attr:tracetest.span.duration <= 100ms"',
      '14:7 spec.specs[0].assertions[1]: invalid syntax "http.status_code = 200": "http.status_code" needs the "attr:" prefix; write "attr:http.status_code = 200"',
      // In quotes: the column after the quote.
      '15:8 spec.specs[0].assertions[2]: invalid syntax "tracetest.response.body contains "\\"id\\": 52"": "tracetest.response.body" needs the "attr:" prefix; write "attr:tracetest.response.body contains "\\"id\\": 52""',
    ]);
  });

  it('reports selector and expression errors at the exact character', () => {
    const problems = parseFixture('bad/languages.yaml').problems;
    expect(brief(problems)).toEqual([
      // The "}" of "${uuid(}": the position allows for the "http://" the parser put before the URL.
      '9:40 spec.trigger.httpRequest.url: invalid syntax "http://catalogue:8081/books/${uuid(}": unexpected end of input (expected a value)',
      // Just after the selector's last character.
      '11:39 spec.specs[0].selector: expected "]"',
      '13:34 spec.specs[0].assertions[0]: invalid syntax "attr:http.status_code == 200": unexpected token "=" (expected a value)',
      // In a double-quoted value, after two escaped quotes.
      '14:36 spec.specs[1].selector: unknown pseudo-class ":second"; use :first, :last or :nth_child(n)',
      // On the second line of a value folded over two lines.
      '19:14 spec.specs[2].selector: expected a value (a "string", a number, true or false)',
      // At the end of a literal block.
      '23:33 spec.specs[2].assertions[0]: invalid syntax "attr:db.result\n  | json_path \'$.id\' =": unexpected end of input (expected a value)',
      '26:22 spec.outputs[0].value: invalid syntax "attr:x |": unexpected end of input (expected a filter name)',
    ]);
    const lines = read('bad/languages.yaml').split('\n');
    const at = (p: DefinitionProblem): string => (lines[p.line - 1] ?? '').slice(p.column - 1);
    expect(problems.map(at)).toEqual(['}', '', '= 200', ':second"', '="select"]', '', '']);
  });

  it('keeps exact positions with CRLF line ends and quoted values over several lines; comments are not read', () => {
    const text = [
      'type: Test',
      'spec:',
      '  name: CRLF # ${NOT_SET} in a comment',
      '  trigger:',
      '    type: http',
      '    httpRequest:',
      '      url: http://a',
      '      headers:',
      '        - key: "X-A"',
      '          value: "multi',
      '            line ${MISSING}"',
      '  specs:',
      '    - selector: span[name="a"',
      '        kind="server"] span[',
      '      assertions: [attr:a = 1]',
    ].join('\r\n');
    expect(brief(parseResources(text, { file: 'crlf.yaml', env: {} }).problems)).toEqual([
      '11:18 spec.trigger.httpRequest.headers[0].value: environment variable "MISSING" is not set (${MISSING} would become an empty string)',
      '14:29 spec.specs[0].selector: expected "]"',
    ]);
  });

  it('reports triggers that are not supported, misspelt or without their block', () => {
    expect(brief(parseFixture('bad/triggers.yaml').problems)).toEqual([
      '6:11 spec.trigger.type: trigger type "k6" is not supported (supported: http, grpc, traceid, kafka)',
      '13:11 spec.trigger.type: unknown trigger type "htp" (did you mean "http"?) (supported: http, grpc, traceid, kafka)',
      '20:11 spec.trigger.type: a trigger of type "grpc" needs "grpc"',
      '22:7 spec.trigger.httpRequest: "httpRequest" does not apply to a trigger of type "grpc" (it reads "grpc")',
    ]);
  });

  it('reports data stores that are not supported or lack their block', () => {
    expect(brief(parseFixture('bad/data-stores.yaml').problems)).toEqual([
      '4:9 spec.type: data store type "opensearch" is not supported (supported: otlp, jaeger, tempo)',
      '12:9 spec.type: a data store of type "jaeger" needs a "jaeger" block with its endpoint',
    ]);
  });

  it('reports connection settings and other trigger blocks that are not empty', () => {
    expect(brief(parseFixture('bad/connection-settings.yaml').problems)).toEqual([
      '7:5 spec.jaeger.headers: "headers" is a setting of Tracetest\'s that is not supported here (it is accepted only empty, as Tracetest exports it)',
      '10:7 spec.jaeger.tls.settings: "settings" is a setting of Tracetest\'s that is not supported here (it is accepted only empty, as Tracetest exports it)',
      '21:7 spec.trigger.kafka: "kafka" does not apply to a trigger of type "traceid" (it reads "traceid")',
    ]);
  });

  it("names Tracetest's own resources and data stores that send spans over OTLP", () => {
    expect(brief(parseFixture('bad/tracetest-cloud.yaml').problems)).toEqual([
      '1:7 type: this Environment is one of Tracetest\'s environments (it has "resources", "agentConfiguration"), which are not supported here; an Environment is read as a VariableSet when it has "values"',
      '9:7 type: resource type "Invite" is Tracetest\'s and is not supported here; known types: Test, TestSuite, VariableSet, PollingProfile, DataStore (Transaction and Environment are read as TestSuite and VariableSet)',
      '17:9 spec.type: data store type "honeycomb" is not supported (supported: otlp, jaeger, tempo); in Tracetest, "honeycomb" means spans sent to it over OTLP, which is "otlp" here',
    ]);
  });

  it("says how to rewrite a file in Tracetest's older formats", () => {
    expect(brief(parseFixture('bad/older-formats.yaml').problems)).toEqual([
      '2:1 : "type" is missing: this is a test in Tracetest\'s older format; write "type: Test" and put its fields under "spec:" ("testDefinition" is now "specs")',
      '15:1 : "type" is missing: "dataStore:" is Tracetest\'s older provisioning format; write "type: DataStore" and put the data store\'s fields under "spec:"',
    ]);
  });

  it('reports YAML syntax errors', () => {
    // Inline: a broken file cannot sit in testdata (the formatter reads every YAML file there).
    const broken = 'type: Test\nspec:\n  name: Broken\n  trigger: [http\n';
    expect(brief(parseResources(broken, { file: 'broken.yaml' }).problems)).toEqual([
      '5:1 : Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(brief(parseResources('spec:\n  name: a\n  name: b\n', { file: 'dup.yaml' }).problems)).toEqual([
      '3:3 : Map keys must be unique',
    ]);
  });

  it('reports a document that is not a resource and one without type or spec', () => {
    const text = '- just text\n- type: Test\n- type: VariableSet\n  spec:\n- type:\n';
    expect(brief(parseResources(text, { file: 'odd.yaml' }).problems)).toEqual([
      '1:3 [0]: expected a resource (a map with "type" and "spec"), found the text "just text"',
      '2:3 [1]: "spec" is missing: the Test\'s fields go under it',
      '4:3 [2].spec: "spec" is empty: the VariableSet\'s fields go under it',
      '5:3 [3].type: "type" is empty; it is one of Test, TestSuite, VariableSet, PollingProfile, DataStore (Transaction and Environment are read as TestSuite and VariableSet)',
    ]);
    expect(brief(parseResources('spec:\n  name: x\n', { file: 'untyped.yaml' }).problems)).toEqual([
      '1:1 : "type" is missing; it is one of Test, TestSuite, VariableSet, PollingProfile, DataStore (Transaction and Environment are read as TestSuite and VariableSet)',
    ]);
  });

  it('reports two resources of one type with one id, derived ids included', () => {
    const text = [
      'type: VariableSet',
      'spec:',
      '  name: Shop Vars',
      '  values: []',
      '---',
      'type: VariableSet',
      'spec:',
      '  name: shop vars',
      '  values: []',
      '---',
      'type: PollingProfile',
      'spec:',
      '  id: variableset-shop-vars',
      '  name: Other kind, same id',
      '  periodic: { retryDelay: 1s, timeout: 1m }',
    ].join('\n');
    expect(brief(parseResources(text, { file: 'ids.yaml' }).problems)).toEqual([
      '8:9 spec.id: another VariableSet in this file (line 1) has the id "variableset-shop-vars"',
    ]);
  });

  it('reports an alias written next to its field', () => {
    const text = [
      'type: Test',
      'spec:',
      '  name: Both',
      '  trigger:',
      '    type: http',
      '    httpRequest:',
      '      url: http://a',
      '      auth: { type: bearer, bearer: { token: t } }',
      '      authentication: { type: bearer, bearer: { token: t } }',
    ].join('\n');
    expect(brief(parseResources(text, { file: 'both.yaml' }).problems)).toEqual([
      '9:7 spec.trigger.httpRequest.authentication: "authentication" and "auth" are the same field; keep one',
    ]);
  });
});

describe('deriveResourceId', () => {
  it('is the type and a slug of the name', () => {
    expect(deriveResourceId('Test', 'Pokeshop - Import')).toBe('test-pokeshop-import');
    expect(deriveResourceId('TestSuite', '  Café au lait!  ')).toBe('testsuite-cafe-au-lait');
    expect(deriveResourceId('VariableSet', 'http://app:8080')).toBe('variableset-http-app-8080');
  });

  it('is a hash of a name with no letters or digits', () => {
    const id = deriveResourceId('Test', '测试');
    expect(id).toMatch(/^test-[0-9a-f]{8}$/);
    expect(deriveResourceId('Test', '测试')).toBe(id);
    expect(deriveResourceId('Test', '测验')).not.toBe(id);
  });
});
