import { describe, expect, it } from 'vitest';
import { checkResource } from './check.js';
import { resourceSchema, type Resource } from './schema.js';

/** A test with an HTTP trigger and these parts, with the schema's defaults. */
function test(spec: Record<string, unknown>, trigger?: unknown): Resource {
  return resourceSchema.parse({
    type: 'Test',
    spec: {
      id: 't',
      name: 'T',
      trigger: trigger ?? { type: 'http', httpRequest: { url: 'http://shop:8080/books' } },
      ...spec,
    },
  });
}

describe('checkResource: tests', () => {
  it('finds nothing in a sound test', () => {
    const resource = test({
      specs: [
        { selector: 'span[name = "GET /books"]', assertions: ['attr:http.status_code = 200'] },
        { selector: '', assertions: ['attr:tracetest.span.duration < 2s'] },
      ],
      outputs: [
        { name: 'ID', selector: 'span[name = "GET /books"]', value: "attr:http.response.body | json_path '$.id'" },
      ],
      probes: [{ name: 'cart', service: 'shop', location: 'src/cart.ts:42' }],
    });
    expect(checkResource(resource)).toEqual([]);
  });

  it('reports selector and assertion errors with their offset', () => {
    const resource = test({
      specs: [{ selector: 'span[name="a"', assertions: ['attr:a = 1', 'attr:b ==', 'attr:c = 2'] }],
    });
    expect(checkResource(resource)).toEqual([
      { path: ['spec', 'specs', 0, 'selector'], offset: 13, message: 'expected "]" at column 14' },
      {
        path: ['spec', 'specs', 0, 'assertions', 1],
        offset: 8,
        message: 'invalid syntax "attr:b ==": unexpected token "=" (expected a value)',
      },
    ]);
  });

  it('says how to write an assertion from before attr:', () => {
    const resource = test({
      specs: [{ selector: '', assertions: ['http.status_code = 200', '  name contains "books"', 'attr:x = 1'] }],
    });
    expect(checkResource(resource)).toEqual([
      {
        path: ['spec', 'specs', 0, 'assertions', 0],
        offset: 0,
        message:
          'invalid syntax "http.status_code = 200": "http.status_code" needs the "attr:" prefix; write "attr:http.status_code = 200"',
      },
      {
        path: ['spec', 'specs', 0, 'assertions', 1],
        offset: 2,
        message:
          'invalid syntax "  name contains "books"": "name" needs the "attr:" prefix; write "  attr:name contains "books""',
      },
    ]);
  });

  it('reports every spec that repeats a selector, naming the first', () => {
    const same = 'span[name = "a"]';
    const resource = test({
      specs: [
        { selector: same, assertions: ['attr:x = 1'] },
        { selector: 'span[name = "b"]', assertions: ['attr:x = 1'] },
        { selector: same, assertions: ['attr:y = 1'] },
        { selector: same, assertions: ['attr:z = 1'] },
      ],
    });
    expect(checkResource(resource).map((p) => [p.path, p.message])).toEqual([
      [
        ['spec', 'specs', 2, 'selector'],
        'specs[0] and specs[2] have the same selector; Tracetest keeps the results of only one of them, so put their assertions in one spec',
      ],
      [
        ['spec', 'specs', 3, 'selector'],
        'specs[0] and specs[3] have the same selector; Tracetest keeps the results of only one of them, so put their assertions in one spec',
      ],
    ]);
  });

  it('reports output selectors and values that do not parse, and repeated names', () => {
    const resource = test({
      outputs: [
        { name: 'A', selector: 'span[', value: 'attr:a' },
        { name: 'B', value: 'attr:b |' },
        { name: 'A', value: '1 + 1' },
      ],
    });
    expect(checkResource(resource).map((p) => [p.path, p.offset])).toEqual([
      [['spec', 'outputs', 0, 'selector'], 5],
      [['spec', 'outputs', 1, 'value'], 8],
      [['spec', 'outputs', 2, 'name'], undefined],
    ]);
    expect(checkResource(resource)[2]?.message).toBe(
      'outputs[0] and outputs[2] are both named "A"; the later value would replace the earlier one',
    );
  });

  it('checks the templates in an HTTP trigger and that its auth has the block its type needs', () => {
    const resource = test(
      {},
      {
        type: 'http',
        httpRequest: {
          url: 'http://${var:HOST}/books',
          headers: [{ key: 'X-Id', value: '${uuid(}' }],
          body: '{"n": "${var:N"}',
          // No closing brace: literal text, not an expression.
          auth: { type: 'bearer', basic: { username: 'a', password: 'x ${env:P' } },
        },
      },
    );
    expect(checkResource(resource).map((p) => p.path.join('.'))).toEqual([
      'spec.trigger.httpRequest.headers.0.value',
      'spec.trigger.httpRequest.body',
      'spec.trigger.httpRequest.auth.type',
    ]);
    expect(checkResource(resource)[2]?.message).toBe('auth of type "bearer" needs bearer.token');
  });

  it('checks the templates of gRPC, Kafka and trace id triggers', () => {
    const grpc = test(
      {},
      {
        type: 'grpc',
        grpc: {
          protobufFile: 'syntax = "proto3"; ${',
          address: 'rpc:8082',
          method: 'a.B.c',
          request: '{"id": ${1 +}}',
        },
      },
    );
    // The .proto text is not a template.
    expect(checkResource(grpc).map((p) => p.path.join('.'))).toEqual(['spec.trigger.grpc.request']);
    const kafka = test(
      {},
      { type: 'kafka', kafka: { brokerUrls: ['k:9092'], topic: '${1 +}', messageValue: '${var:V}' } },
    );
    expect(checkResource(kafka).map((p) => p.path.join('.'))).toEqual(['spec.trigger.kafka.topic']);
    const traceid = test({}, { type: 'traceid', traceid: { id: '${1 +}' } });
    expect(checkResource(traceid).map((p) => p.path.join('.'))).toEqual(['spec.trigger.traceid.id']);
  });

  it('checks probe locations, log templates and names', () => {
    const resource = test({
      probes: [
        { name: 'a', service: 'shop', location: 'src/cart.ts:0' },
        { name: 'b', service: 'shop', location: 'src/cart.ts:10', kind: 'log' },
        { name: 'a', service: 'shop', location: 'src/cart.ts:12' },
      ],
    });
    expect(checkResource(resource)).toEqual([
      { path: ['spec', 'probes', 0, 'location'], message: '"src/cart.ts:0": lines are numbered from 1' },
      { path: ['spec', 'probes', 1, 'kind'], message: 'a log probe needs a "template"' },
      { path: ['spec', 'probes', 2, 'name'], message: 'probes[0] and probes[2] are both named "a"' },
    ]);
  });
});

describe('checkResource: other resources', () => {
  const profile = (retryDelay: string, timeout: string): Resource =>
    resourceSchema.parse({ type: 'PollingProfile', spec: { id: 'p', name: 'P', periodic: { retryDelay, timeout } } });

  it('takes Go durations in polling profiles', () => {
    expect(checkResource(profile('500ms', '1m30s'))).toEqual([]);
    expect(checkResource(profile('1.5s', '2h'))).toEqual([]);
    expect(checkResource(profile('5', '1 minute'))).toEqual([
      {
        path: ['spec', 'periodic', 'retryDelay'],
        message: '"5" is not a duration; write it as Tracetest does: "500ms", "5s", "1m"',
      },
      {
        path: ['spec', 'periodic', 'timeout'],
        message: '"1 minute" is not a duration; write it as Tracetest does: "500ms", "5s", "1m"',
      },
    ]);
    expect(checkResource(profile('0s', '1m'))).toEqual([
      { path: ['spec', 'periodic', 'retryDelay'], message: 'retryDelay must be more than 0' },
    ]);
  });

  it('reports a variable set that sets one key twice', () => {
    const vars = resourceSchema.parse({
      type: 'VariableSet',
      spec: {
        id: 'v',
        name: 'V',
        values: [
          { key: 'A', value: '1' },
          { key: 'B', value: '2' },
          { key: 'A', value: '3' },
        ],
      },
    });
    expect(checkResource(vars)).toEqual([
      { path: ['spec', 'values', 2, 'key'], message: 'values[0] and values[2] both set "A"; keep one' },
    ]);
  });

  it('reports a data store without the block its type needs', () => {
    const store = (spec: Record<string, unknown>): Resource =>
      resourceSchema.parse({ type: 'DataStore', spec: { id: 'd', name: 'D', ...spec } });
    expect(checkResource(store({ type: 'otlp' }))).toEqual([]);
    expect(checkResource(store({ type: 'jaeger', jaeger: { endpoint: 'jaeger:16685' } }))).toEqual([]);
    expect(checkResource(store({ type: 'tempo' }))).toEqual([
      { path: ['spec', 'type'], message: 'a data store of type "tempo" needs a "tempo" block' },
    ]);
    expect(checkResource(store({ type: 'tempo', tempo: { type: 'grpc' } }))).toEqual([
      { path: ['spec', 'tempo', 'type'], message: 'a Tempo data store of type "grpc" needs "grpc.endpoint"' },
    ]);
    expect(checkResource(store({ type: 'tempo', tempo: { http: { url: 'http://tempo:3200' } } }))).toEqual([]);
  });
});
