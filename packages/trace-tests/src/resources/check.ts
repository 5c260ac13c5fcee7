import { parseExpression, parseStatement, parseTemplate } from '../expression/index.js';
import { SyntaxProblem } from '../model.js';
import { parseSelector } from '../selector/index.js';
import type { HttpAuth, Resource, TestSpec, Trigger } from './schema.js';

/** A problem found in a normalised resource: the field's path and, for language errors, the offset in its text. */
export interface ResourceProblem {
  readonly path: readonly (string | number)[];
  readonly offset?: number;
  readonly message: string;
}

type Path = readonly (string | number)[];

/**
 * Checks what the schema cannot: selectors and expressions parse, no two specs share a selector, output names are
 * unique, probe locations, variables a trigger uses. The hub runs it on apply; the parser runs it with positions.
 */
export function checkResource(resource: Resource): ResourceProblem[] {
  const problems: ResourceProblem[] = [];
  switch (resource.type) {
    case 'Test':
      checkTest(resource.spec, problems);
      break;
    case 'TestSuite':
      break;
    case 'VariableSet':
      duplicates(
        resource.spec.values.map((v) => v.key),
        (first, i, key) => ({
          path: ['spec', 'values', i, 'key'],
          message: `values[${first}] and values[${i}] both set "${key}"; keep one`,
        }),
        problems,
      );
      break;
    case 'PollingProfile': {
      const { retryDelay, timeout } = resource.spec.periodic;
      const delayNs = checkDuration(retryDelay, ['spec', 'periodic', 'retryDelay'], problems);
      checkDuration(timeout, ['spec', 'periodic', 'timeout'], problems);
      if (delayNs === 0) {
        problems.push({ path: ['spec', 'periodic', 'retryDelay'], message: 'retryDelay must be more than 0' });
      }
      break;
    }
    case 'DataStore': {
      const spec = resource.spec;
      if (spec.type === 'jaeger' && !spec.jaeger) {
        problems.push({
          path: ['spec', 'type'],
          message: 'a data store of type "jaeger" needs a "jaeger" block with its endpoint',
        });
      }
      if (spec.type === 'tempo') {
        const tempo = spec.tempo;
        if (!tempo) {
          problems.push({ path: ['spec', 'type'], message: 'a data store of type "tempo" needs a "tempo" block' });
        } else if (tempo.type === 'grpc' && !tempo.grpc) {
          problems.push({
            path: ['spec', 'tempo', 'type'],
            message: 'a Tempo data store of type "grpc" needs "grpc.endpoint"',
          });
        } else if (tempo.type === 'http' && !tempo.http) {
          problems.push({
            path: ['spec', 'tempo', 'type'],
            message: 'a Tempo data store of type "http" needs "http.url"',
          });
        }
      }
      break;
    }
  }
  return problems;
}

function checkTest(spec: TestSpec, problems: ResourceProblem[]): void {
  spec.specs.forEach((item, i) => {
    language(() => parseSelector(item.selector), ['spec', 'specs', i, 'selector'], problems);
    item.assertions.forEach((assertion, j) => {
      const path = ['spec', 'specs', i, 'assertions', j];
      const legacy = legacyAssertion(assertion);
      if (legacy) problems.push({ path, ...legacy });
      else language(() => parseStatement(assertion), path, problems);
    });
  });
  // Tracetest keys a run's results by selector, so a second spec with the same selector wipes the first one's.
  duplicates(
    spec.specs.map((s) => s.selector),
    (first, i) => ({
      path: ['spec', 'specs', i, 'selector'],
      message: `specs[${first}] and specs[${i}] have the same selector; Tracetest keeps the results of only one of them, so put their assertions in one spec`,
    }),
    problems,
  );

  spec.outputs.forEach((output, i) => {
    language(() => parseSelector(output.selector), ['spec', 'outputs', i, 'selector'], problems);
    language(() => parseExpression(output.value), ['spec', 'outputs', i, 'value'], problems);
  });
  duplicates(
    spec.outputs.map((o) => o.name),
    (first, i, name) => ({
      path: ['spec', 'outputs', i, 'name'],
      message: `outputs[${first}] and outputs[${i}] are both named "${name}"; the later value would replace the earlier one`,
    }),
    problems,
  );

  checkTrigger(spec.trigger, problems);

  spec.probes.forEach((probe, i) => {
    const line = Number(/:(\d+)$/.exec(probe.location)?.[1] ?? '1');
    if (line < 1) {
      problems.push({
        path: ['spec', 'probes', i, 'location'],
        message: `"${probe.location}": lines are numbered from 1`,
      });
    }
    if (probe.kind === 'log' && probe.template === undefined) {
      problems.push({ path: ['spec', 'probes', i, 'kind'], message: 'a log probe needs a "template"' });
    }
  });
  duplicates(
    spec.probes.map((p) => p.name),
    (first, i, name) => ({
      path: ['spec', 'probes', i, 'name'],
      message: `probes[${first}] and probes[${i}] are both named "${name}"`,
    }),
    problems,
  );
}

/** Trigger fields Tracetest evaluates as templates before triggering (its `expr_enabled` fields). */
function checkTrigger(trigger: Trigger, problems: ResourceProblem[]): void {
  const template = (text: string | undefined, path: Path): void => {
    if (text !== undefined) language(() => parseTemplate(text), path, problems);
  };
  const keyValues = (entries: readonly { key: string; value: string }[], base: Path): void => {
    entries.forEach((entry, i) => {
      template(entry.key, [...base, i, 'key']);
      template(entry.value, [...base, i, 'value']);
    });
  };
  switch (trigger.type) {
    case 'http': {
      const base = ['spec', 'trigger', 'httpRequest'];
      const request = trigger.httpRequest;
      template(request.url, [...base, 'url']);
      keyValues(request.headers, [...base, 'headers']);
      template(request.body, [...base, 'body']);
      checkAuth(request.auth, [...base, 'auth'], template, problems);
      break;
    }
    case 'grpc': {
      // The .proto text is left out: it is not written as a template.
      const base = ['spec', 'trigger', 'grpc'];
      const request = trigger.grpc;
      template(request.address, [...base, 'address']);
      template(request.service, [...base, 'service']);
      template(request.method, [...base, 'method']);
      template(request.request, [...base, 'request']);
      keyValues(request.metadata, [...base, 'metadata']);
      checkAuth(request.auth, [...base, 'auth'], template, problems);
      break;
    }
    case 'traceid':
      template(trigger.traceid.id, ['spec', 'trigger', 'traceid', 'id']);
      break;
    case 'kafka': {
      const base = ['spec', 'trigger', 'kafka'];
      const request = trigger.kafka;
      template(request.topic, [...base, 'topic']);
      keyValues(request.headers, [...base, 'headers']);
      template(request.messageKey, [...base, 'messageKey']);
      template(request.messageValue, [...base, 'messageValue']);
      const plain = request.authentication?.plain;
      template(plain?.username, [...base, 'authentication', 'plain', 'username']);
      template(plain?.password, [...base, 'authentication', 'plain', 'password']);
      break;
    }
  }
}

function checkAuth(
  auth: HttpAuth | undefined,
  base: Path,
  template: (text: string | undefined, path: Path) => void,
  problems: ResourceProblem[],
): void {
  if (!auth) return;
  // Tracetest reads only the block named by `type`; without it the request goes out unauthenticated.
  const needs = {
    apiKey: 'apiKey.key and apiKey.value',
    basic: 'basic.username and basic.password',
    bearer: 'bearer.token',
  };
  if (!auth[auth.type]) {
    problems.push({ path: [...base, 'type'], message: `auth of type "${auth.type}" needs ${needs[auth.type]}` });
  }
  template(auth.apiKey?.key, [...base, 'apiKey', 'key']);
  template(auth.apiKey?.value, [...base, 'apiKey', 'value']);
  template(auth.basic?.username, [...base, 'basic', 'username']);
  template(auth.basic?.password, [...base, 'basic', 'password']);
  template(auth.bearer?.token, [...base, 'bearer', 'token']);
}

/** Runs a parser of either language; its `SyntaxProblem` becomes a problem with the offset in the text. */
function language(parse: () => unknown, path: Path, problems: ResourceProblem[]): void {
  try {
    parse();
  } catch (error) {
    if (error instanceof SyntaxProblem) problems.push({ path, offset: error.offset, message: error.message });
    else problems.push({ path, message: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Tracetest's first assertions named the attribute bare (`http.status_code = 200`); its parser now rejects them as
 * invalid syntax. Said with the fix: `attr:` before the name.
 */
function legacyAssertion(assertion: string): { offset: number; message: string } | undefined {
  const match = /^(\s*)([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:!=|<=|>=|=|<|>|not-contains(?![\w-])|contains(?![\w-]))/.exec(
    assertion,
  );
  if (!match) return undefined;
  const name = match[2] ?? '';
  const offset = match[1]?.length ?? 0;
  const fixed = `${assertion.slice(0, offset)}attr:${assertion.slice(offset)}`;
  return {
    offset,
    message: `invalid syntax "${assertion}": "${name}" needs the "attr:" prefix; write "${fixed}"`,
  };
}

const DURATION_UNITS_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A Go duration (`500ms`, `1m30s`) in nanoseconds; a problem and `undefined` when it is not one. */
function checkDuration(text: string, path: Path, problems: ResourceProblem[]): number | undefined {
  if (text === '0') return 0;
  const part = /([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (!match) break;
    total += Number(match[1]) * (DURATION_UNITS_NS[match[2] ?? ''] ?? 0);
    at = part.lastIndex;
  }
  if (text === '' || at !== text.length) {
    problems.push({ path, message: `"${text}" is not a duration; write it as Tracetest does: "500ms", "5s", "1m"` });
    return undefined;
  }
  return total;
}

function duplicates(
  values: readonly string[],
  report: (first: number, index: number, value: string) => ResourceProblem,
  problems: ResourceProblem[],
): void {
  const firstIndex = new Map<string, number>();
  values.forEach((value, i) => {
    const first = firstIndex.get(value);
    if (first === undefined) firstIndex.set(value, i);
    else problems.push(report(first, i, value));
  });
}
