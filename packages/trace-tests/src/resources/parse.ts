import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type ParsedNode,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { checkResource } from './check.js';
import { DATA_STORE_TYPES, RESOURCE_TYPES, resourceSchema, type Resource, type ResourceType } from './schema.js';

/** Where a problem in a definition is: the file, 1-based line and column, and the field's path. */
export interface DefinitionProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** e.g. `spec.specs[1].assertions[0]` (the normalised path; empty for a YAML syntax error). */
  readonly path: string;
  readonly message: string;
}

/** A 1-based line and column. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export interface ParsedResource {
  readonly resource: Resource;
  readonly file: string;
  /** 1-based line where the document starts. */
  readonly line: number;
  /**
   * Where each field of the resource is, by its normalised path (`spec.steps[0]`), so that problems found later
   * (resolving the files a suite or a test refers to) point into this file.
   */
  readonly positions: Readonly<Record<string, SourcePosition>>;
}

export interface ParseOptions {
  readonly file: string;
  /**
   * `${NAME}` in the text is replaced from these (the OS environment in the CLI), as Tracetest's CLI does; a NAME
   * that is not set is a problem. Without `env` nothing is replaced (the hub gets files the CLI already filled in).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses a YAML or JSON file of one or more resources (Tracetest's shapes, its aliases and legacy forms), checks
 * selectors and expressions, and reports every problem with its position. Nothing is returned for a file with problems.
 *
 * Accepted besides the current shapes: the types `Transaction` (read as TestSuite) and `Environment` (VariableSet);
 * specs as the v1 map `{<selector>: {name, assertions}}` or as Tracetest's v1 JSON list `[{Key, Value}]`; outputs as
 * the map `{NAME: {selector, value}}` or `[{Key, Value}]`; a trigger's `triggerType`/`http` (Tracetest's v2 JSON) for
 * `type`/`httpRequest`; `authentication:` for an HTTP request's `auth:` and `basic.user` for `basic.username` (both as
 * Tracetest's docs write them); a Tempo data store's `endpoint` directly under `tempo:` (the docs' form, read as gRPC)
 * and a Tempo connection without `type` (the one whose block is written); a spec without `selector` (every span).
 * Fields Tracetest writes when it exports a resource and that mean nothing here are skipped: `createdAt` (every
 * resource), `version` (tests and suites), a trigger's blocks for other trigger types when they are empty (older
 * exports wrote them all), and a data store connection's gRPC and TLS settings that are not supported here when they
 * are empty (`headers: {"": ""}`, `settings: {}`). Any other field that is not known is a problem.
 *
 * `${NAME}` is replaced inside each value after the YAML is read (not in the raw text as Tracetest's CLI does), so a
 * value with `#`, `: ` or quotes stays one value, and every position still points into the original text; a plain
 * (unquoted) value that is only a replacement is typed again, so `selectorMatchRetries: ${RETRIES}` is a number.
 */
export function parseResources(
  text: string,
  options: ParseOptions,
): { resources: ParsedResource[]; problems: DefinitionProblem[] } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const decoder = new Decoder(text, options.file, lines, options.env);
  const found: { parsed: ParsedResource; idStart: number; prefix: Path }[] = [];

  for (const doc of Array.isArray(docs) ? docs : []) {
    for (const error of doc.errors) decoder.problemAt('', error.pos[0], error.message);
    for (const warning of doc.warnings) decoder.problemAt('', warning.pos[0], warning.message);
    if (doc.errors.length > 0) continue;
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    decoder.doc = doc;
    if (isSeq(contents)) {
      contents.items.forEach((item, i) => {
        const result = decoder.resource(item, [i]);
        if (result) found.push({ ...result, prefix: [i] });
      });
    } else {
      const result = decoder.resource(contents, []);
      if (result) found.push({ ...result, prefix: [] });
    }
  }

  // Two resources of one kind with one id: the second would silently replace the first on apply.
  const seen = new Map<string, ParsedResource>();
  for (const { parsed, idStart, prefix } of found) {
    const key = `${parsed.resource.type}\u0000${parsed.resource.spec.id}`;
    const first = seen.get(key);
    if (first) {
      decoder.problemAt(
        formatPath([...prefix, 'spec', 'id']),
        idStart,
        `another ${parsed.resource.type} in this file (line ${first.line}) has the id "${parsed.resource.spec.id}"`,
      );
    } else seen.set(key, parsed);
  }

  const problems = decoder.problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { resources: problems.length > 0 ? [] : found.map((f) => f.parsed), problems };
}

/**
 * The id of a resource that has none: its type and a slug of its name (`Pokeshop - Import` as a Test is
 * `test-pokeshop-import`), so applying the same file twice updates the resource instead of adding a second one.
 * A name with no letters or digits gets a hash of the name instead of a slug.
 */
export function deriveResourceId(type: ResourceType, name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
  return `${type.toLowerCase()}-${slug || fnv1a(name)}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

type Path = readonly (string | number)[];

/** `spec.specs[1].assertions[0]`; keys that are not identifiers are quoted: `headers["X-Org"]`. */
function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** A value's text and, for each of its characters, the offset in the file it came from (plus one for its end). */
interface Located {
  readonly value: string;
  readonly offsets: readonly number[];
}

/** What is known about one field: where its value starts, where its key is, where each character came from. */
interface Entry {
  start?: number;
  keyStart?: number;
  offsets?: readonly number[];
}

type YNode = ParsedNode | null | undefined;
type Reader = (node: YNode, path: Path) => unknown;

interface MapSpec {
  readonly fields: Readonly<Record<string, Reader>>;
  /** Other names for a field: written key → field. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Fields Tracetest writes that are skipped here. */
  readonly ignored?: readonly string[];
  /** Tracetest's fields that are not supported here: skipped when empty (as its exports write them), else a problem. */
  readonly blankOnly?: readonly string[];
}

const TYPE_ALIASES: Readonly<Record<string, ResourceType>> = { Transaction: 'TestSuite', Environment: 'VariableSet' };
/** Tracetest's other resource types: named in the problem so it does not read like a typo. */
const TRACETEST_ONLY_TYPES = [
  'TestRunner',
  'Config',
  'Analyzer',
  'Demo',
  'Monitor',
  'Linter',
  'Invite',
  'EnvironmentToken',
];
/** Fields of Tracetest's own environments (`type: Environment` of its cloud), which are not variable sets. */
const TRACETEST_ENVIRONMENT_FIELDS = ['resources', 'agentConfiguration'];
const TRIGGER_BLOCKS = { http: 'httpRequest', grpc: 'grpc', traceid: 'traceid', kafka: 'kafka' } as const;
type TriggerType = keyof typeof TRIGGER_BLOCKS;
const TRACETEST_ONLY_TRIGGERS = ['graphql', 'playwrightengine', 'cypress', 'playwright', 'k6', 'artillery'];
const TRACETEST_ONLY_DATA_STORES = [
  'opensearch',
  'signalfx',
  'elasticapm',
  'newrelic',
  'lightstep',
  'datadog',
  'awsxray',
  'honeycomb',
  'azureappinsights',
  'signoz',
  'dynatrace',
  'sumologic',
  'instana',
  'dash0',
  'agent',
];
/** Tracetest's data stores whose spans are sent to Tracetest over OTLP (its `otlpBasedDataStores`): `otlp` here. */
const OTLP_BASED_DATA_STORES = [
  'agent',
  'dash0',
  'datadog',
  'dynatrace',
  'honeycomb',
  'instana',
  'lightstep',
  'newrelic',
  'signoz',
];
/** Tracetest's gRPC client settings besides the endpoint and TLS (its `GRPCClientSettings`). */
const GRPC_CLIENT_EXTRAS = [
  'readBufferSize',
  'writeBufferSize',
  'waitForReady',
  'headers',
  'balancerName',
  'compression',
];
const TLS_EXTRAS = ['serverName', 'settings'];
const KNOWN_TYPES_TEXT = `${RESOURCE_TYPES.join(', ')} (Transaction and Environment are read as TestSuite and VariableSet)`;

class Decoder {
  readonly problems: DefinitionProblem[] = [];
  doc: Document.Parsed | undefined;
  /** Paths (formatted, with the document prefix) that already have a problem: the schema's view of them is noise. */
  private readonly problemPaths = new Set<string>();
  private entries = new Map<string, Entry>();
  private prefix: Path = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly lines: LineCounter,
    private readonly env: Readonly<Record<string, string | undefined>> | undefined,
  ) {}

  position(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line, column: col };
  }

  problemAt(path: string, offset: number, message: string): void {
    this.problems.push({ file: this.file, ...this.position(offset), path, message });
    if (path !== '') this.problemPaths.add(path);
  }

  private problem(path: Path, offset: number, message: string): void {
    this.problemAt(formatPath([...this.prefix, ...path]), offset, message);
  }

  private note(path: Path, entry: Entry): void {
    const key = formatPath(path);
    const known = this.entries.get(key);
    if (known) {
      if (entry.start !== undefined) known.start = entry.start;
      if (entry.keyStart !== undefined) known.keyStart = entry.keyStart;
      if (entry.offsets !== undefined) known.offsets = entry.offsets;
    } else this.entries.set(key, { ...entry });
  }

  /** The entry of a path or of its nearest parent that has one. */
  private entryOf(path: Path): { entry: Entry; exact: boolean } {
    for (let n = path.length; n >= 0; n--) {
      const entry = this.entries.get(formatPath(path.slice(0, n)));
      if (entry && (entry.start !== undefined || entry.keyStart !== undefined))
        return { entry, exact: n === path.length };
    }
    return { entry: { start: 0 }, exact: false };
  }

  private start(node: YNode, fallback = 0): number {
    return node?.range?.[0] ?? fallback;
  }

  private deref(node: YNode): YNode {
    if (node && isAlias(node) && this.doc) return (node.resolve(this.doc) as ParsedNode | undefined) ?? null;
    return node;
  }

  /**
   * Nothing, "", 0, false, or a map or list of only such values: what Tracetest writes for a field that is not set
   * (`headers: {"": ""}`, `settings: {}`, `grpc: {address: ""}`).
   */
  private blank(node: YNode): boolean {
    const n = this.deref(node);
    if (!n) return true;
    if (isScalar(n)) return n.value === null || n.value === '' || n.value === 0 || n.value === false;
    if (isMap(n)) return n.items.every((pair) => this.blank(pair.value as YNode));
    if (isSeq(n)) return n.items.every((item) => this.blank(item as YNode));
    return false;
  }

  // ---- one resource ------------------------------------------------------------------------------------------

  resource(node: YNode, prefix: Path): { parsed: ParsedResource; idStart: number } | undefined {
    const problemsBefore = this.problems.length;
    const result = this.readResource(node, prefix);
    if (!result && this.problems.length === problemsBefore) {
      this.problem([], this.start(node), 'this resource could not be read');
    }
    return result;
  }

  private readResource(node: YNode, prefix: Path): { parsed: ParsedResource; idStart: number } | undefined {
    this.prefix = prefix;
    this.entries = new Map();
    const problemsBefore = this.problems.length;
    const root = this.deref(node);
    const rootStart = this.start(root);
    if (!root || !isMap(root)) {
      this.problem([], rootStart, `expected a resource (a map with "type" and "spec"), found ${describe(root)}`);
      return undefined;
    }
    this.note([], { start: rootStart });

    const typePair = findPair(root, 'type');
    const written = typePair ? this.str(typePair.value, ['type']) : undefined;
    if (written === undefined) {
      if (!typePair)
        this.problem([], rootStart, `"type" is missing${olderFormat(root) ?? `; it is one of ${KNOWN_TYPES_TEXT}`}`);
      else if (this.problems.length === problemsBefore) {
        this.problem(['type'], this.start(typePair.key), `"type" is empty; it is one of ${KNOWN_TYPES_TEXT}`);
      }
      return undefined;
    }
    const type = TYPE_ALIASES[written] ?? RESOURCE_TYPES.find((t) => t === written);
    const cloudFields = written === 'Environment' ? tracetestEnvironmentFields(root) : [];
    if (cloudFields.length > 0) {
      this.problem(
        ['type'],
        this.start(typePair?.value, rootStart),
        `this Environment is one of Tracetest's environments (it has ${cloudFields.map((f) => `"${f}"`).join(', ')}), which are not supported here; an Environment is read as a VariableSet when it has "values"`,
      );
      return undefined;
    }
    if (!type) {
      const what = TRACETEST_ONLY_TYPES.includes(written)
        ? `resource type "${written}" is Tracetest's and is not supported here`
        : `unknown resource type "${written}"${suggestion(written, [...RESOURCE_TYPES, ...Object.keys(TYPE_ALIASES)])}`;
      this.problem(['type'], this.start(typePair?.value, rootStart), `${what}; known types: ${KNOWN_TYPES_TEXT}`);
      return undefined;
    }

    const specReader = this.specReader(type);
    const fields = this.map(root, [], { fields: { type: () => type, spec: specReader } });
    if (!fields) return undefined;
    const spec = fields.spec as Record<string, unknown> | undefined;
    if (!spec) {
      const specPair = findPair(root, 'spec');
      if (!specPair) this.problem([], rootStart, `"spec" is missing: the ${type}'s fields go under it`);
      else if (this.problems.length === problemsBefore) {
        this.problem(['spec'], this.start(specPair.key), `"spec" is empty: the ${type}'s fields go under it`);
      }
      return undefined;
    }

    if (spec.id === undefined && typeof spec.name === 'string' && spec.name !== '') {
      spec.id = deriveResourceId(type, spec.name);
      const nameEntry = this.entries.get('spec.name');
      this.note(['spec', 'id'], { start: nameEntry?.start ?? rootStart });
    }

    const result = resourceSchema.safeParse({ type, spec });
    if (!result.success) {
      for (const issue of result.error.issues) {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        if (this.coveredByProblem([...this.prefix, ...path]) || this.hasProblemUnder(path)) continue;
        // Without an id it comes from the name: the name's problem says it.
        if (formatPath(path) === 'spec.id' && spec.id === undefined) continue;
        const value = valueAt({ type, spec }, path);
        const { entry, exact } = this.entryOf(path);
        const offset =
          exact && value !== undefined ? (entry.start ?? entry.keyStart ?? 0) : (entry.keyStart ?? entry.start ?? 0);
        this.problem(path, offset, schemaMessage(issue, path, value));
      }
      return undefined;
    }
    // Problems found while reading (unknown fields, unset variables) block the resource, but its selectors and
    // expressions are still checked so that one run shows everything.
    this.check(result.data);
    if (this.problems.length > problemsBefore) return undefined;
    const positions: Record<string, SourcePosition> = {};
    for (const [key, entry] of this.entries) {
      const offset = entry.start ?? entry.keyStart;
      if (offset !== undefined) positions[key] = this.position(offset);
    }
    return {
      parsed: { resource: result.data, file: this.file, line: this.position(rootStart).line, positions },
      idStart: this.entries.get('spec.id')?.start ?? rootStart,
    };
  }

  private check(resource: Resource): void {
    for (const problem of checkResource(resource)) {
      const { entry, exact } = this.entryOf(problem.path);
      let offset = entry.start ?? entry.keyStart ?? 0;
      if (exact && problem.offset !== undefined && entry.offsets && entry.offsets.length > 0) {
        offset = entry.offsets[Math.max(0, Math.min(problem.offset, entry.offsets.length - 1))] ?? offset;
      }
      // The file's line and column replace the language's own "at column N" (a column within the selector).
      const message = exact ? problem.message.replace(/ at column \d+(?=[;,.:]|$)/, '') : problem.message;
      this.problem(problem.path, offset, message);
    }
  }

  private coveredByProblem(path: Path): boolean {
    for (let n = path.length; n >= 0; n--) if (this.problemPaths.has(formatPath(path.slice(0, n)))) return true;
    return false;
  }

  // ---- specs of each type ------------------------------------------------------------------------------------

  private specReader(type: ResourceType): Reader {
    const str = this.reader('str');
    const bool = this.reader('bool');
    switch (type) {
      case 'Test':
        return (node, path) =>
          this.map(node, path, {
            fields: {
              id: str,
              name: str,
              description: str,
              trigger: (n, p) => this.trigger(n, p),
              specs: (n, p) => this.specs(n, p),
              outputs: (n, p) => this.outputs(n, p),
              pollingProfile: str,
              skipTraceCollection: bool,
              runner: str,
              probes: (n, p) =>
                this.list(n, p, (item, ip) =>
                  this.map(item, ip, {
                    fields: {
                      name: str,
                      service: str,
                      location: str,
                      kind: str,
                      expressions: (e, ep) => this.list(e, ep, str),
                      template: str,
                      condition: str,
                    },
                  }),
                ),
            },
            ignored: ['createdAt', 'version'],
          });
      case 'TestSuite':
        return (node, path) =>
          this.map(node, path, {
            fields: { id: str, name: str, description: str, steps: (n, p) => this.list(n, p, str) },
            ignored: ['createdAt', 'version'],
          });
      case 'VariableSet':
        return (node, path) =>
          this.map(node, path, {
            fields: {
              id: str,
              name: str,
              description: str,
              values: (n, p) =>
                this.list(n, p, (item, ip) => this.map(item, ip, { fields: { key: str, value: str, type: str } })),
            },
            ignored: ['createdAt'],
          });
      case 'PollingProfile':
        return (node, path) =>
          this.map(node, path, {
            fields: {
              id: str,
              name: str,
              default: bool,
              strategy: str,
              periodic: (n, p) =>
                this.map(n, p, { fields: { retryDelay: str, timeout: str, selectorMatchRetries: this.reader('int') } }),
            },
            ignored: ['createdAt'],
          });
      case 'DataStore':
        return (node, path) => this.dataStore(node, path);
    }
  }

  private trigger(node: YNode, path: Path): unknown {
    const n = this.deref(node);
    if (!n || (isScalar(n) && n.value === null)) return undefined;
    if (!isMap(n)) {
      this.problem(path, this.start(n), `expected a map, found ${describe(n)}`);
      return undefined;
    }
    const typePair = findPair(n, 'type') ?? findPair(n, 'triggerType');
    const type = typePair ? this.str(typePair.value, [...path, 'type']) : undefined;
    if (type === undefined) {
      const types = Object.keys(TRIGGER_BLOCKS).join(', ');
      if (!typePair) this.problem(path, this.start(n), `"type" is missing; it is one of ${types}`);
      else if (!this.hasProblemUnder(path)) {
        this.problem([...path, 'type'], this.start(typePair.key), `"type" is empty; it is one of ${types}`);
      }
      return undefined;
    }
    if (!Object.hasOwn(TRIGGER_BLOCKS, type)) {
      const what = TRACETEST_ONLY_TRIGGERS.includes(type)
        ? `trigger type "${type}" is not supported`
        : `unknown trigger type "${type}"${suggestion(type, Object.keys(TRIGGER_BLOCKS))}`;
      this.problem(
        [...path, 'type'],
        this.start(typePair?.value),
        `${what} (supported: ${Object.keys(TRIGGER_BLOCKS).join(', ')})`,
      );
      return undefined;
    }
    const block = TRIGGER_BLOCKS[type as TriggerType];
    const str = this.reader('str');
    const bool = this.reader('bool');
    const auth: Reader = (a, ap) =>
      this.map(a, ap, {
        fields: {
          type: str,
          apiKey: (k, kp) => this.map(k, kp, { fields: { key: str, value: str, in: str } }),
          basic: (b, bp) =>
            this.map(b, bp, { fields: { username: str, password: str }, aliases: { user: 'username' } }),
          bearer: (b, bp) => this.map(b, bp, { fields: { token: str } }),
        },
      });
    const blocks: Record<TriggerType, Reader> = {
      http: (h, hp) =>
        this.map(h, hp, {
          fields: {
            url: (u, up) => this.url(u, up),
            method: (m, mp) => {
              const method = this.str(m, mp);
              return method === undefined ? undefined : method.toUpperCase();
            },
            headers: (k, kp) => this.keyValues(k, kp),
            body: str,
            auth,
            sslVerification: bool,
          },
          aliases: { authentication: 'auth' },
        }),
      grpc: (g, gp) =>
        this.map(g, gp, {
          fields: {
            protobufFile: str,
            address: str,
            service: str,
            method: str,
            metadata: (k, kp) => this.keyValues(k, kp),
            auth,
            request: str,
          },
        }),
      traceid: (t, tp) => this.map(t, tp, { fields: { id: str } }),
      kafka: (k, kp) =>
        this.map(k, kp, {
          fields: {
            brokerUrls: (b, bp) => this.list(b, bp, str),
            topic: str,
            headers: (h, hp) => this.keyValues(h, hp),
            messageKey: str,
            messageValue: str,
            authentication: (a, ap) =>
              this.map(a, ap, {
                fields: {
                  type: str,
                  plain: (p, pp) => this.map(p, pp, { fields: { username: str, password: str } }),
                },
              }),
            sslVerification: bool,
          },
        }),
    };
    const fields: Record<string, Reader> = { type: () => type };
    for (const other of [...Object.values(TRIGGER_BLOCKS), 'graphql', 'playwrightEngine']) {
      fields[other] = (o, op) => {
        // Tracetest's older exports wrote every trigger block, the unused ones empty.
        if (this.blank(o)) return undefined;
        this.problem(
          op,
          this.start(o),
          `"${other}" does not apply to a trigger of type "${type}" (it reads "${block}")`,
        );
        return undefined;
      };
    }
    fields[block] = blocks[type as TriggerType];
    const trigger = this.map(n, path, { fields, aliases: { triggerType: 'type', http: 'httpRequest' } });
    if (trigger && trigger[block] === undefined && !this.hasProblemUnder([...path, block])) {
      this.problem([...path, 'type'], this.start(typePair?.value), `a trigger of type "${type}" needs "${block}"`);
      this.problemPaths.add(formatPath([...this.prefix, ...path, block]));
    }
    return trigger;
  }

  /** Tracetest parses the URL with urlx, which reads a URL without a scheme as http. */
  private url(node: YNode, path: Path): string | undefined {
    const url = this.str(node, path);
    if (url === undefined || url.includes('://') || url.startsWith('${') || url === '') return url;
    const entry = this.entries.get(formatPath(path));
    if (entry?.offsets) {
      const first = entry.offsets[0] ?? 0;
      entry.offsets = [...Array<number>(7).fill(first), ...entry.offsets];
    }
    return `http://${url}`;
  }

  private keyValues(node: YNode, path: Path): unknown {
    const n = this.deref(node);
    if (n && isMap(n)) {
      this.problem(
        path,
        this.start(n),
        'expected a list of {key, value} entries, found a map; write each entry as "- key: <name>" with "value: <value>" under it',
      );
      return undefined;
    }
    const str = this.reader('str');
    return this.list(n, path, (item, ip) => this.map(item, ip, { fields: { key: str, value: str } }));
  }

  private specs(node: YNode, path: Path): unknown {
    const n = this.deref(node);
    const str = this.reader('str');
    const body: MapSpec = {
      fields: { name: str, assertions: (a, ap) => this.list(a, ap, str) },
      aliases: { Name: 'name', Assertions: 'assertions' },
    };
    if (n && isMap(n)) {
      // v1: {<selector>: {name, assertions}}
      this.note(path, { start: this.start(n) });
      return n.items.map((pair, i) => {
        const itemPath = [...path, i];
        const keyStart = this.start(pair.key);
        this.note(itemPath, { start: keyStart });
        const selector = this.str(pair.key, [...itemPath, 'selector']) ?? '';
        const rest = this.map(pair.value, itemPath, body);
        this.note(itemPath, { start: keyStart });
        return rest ? { ...rest, selector } : undefined;
      });
    }
    return this.list(n, path, (item, itemPath) => {
      const entry = this.v1Entry(item, itemPath, 'selector', body);
      if (entry !== false) return entry;
      return this.map(item, itemPath, { fields: { selector: str, name: str, assertions: body.fields.assertions! } });
    });
  }

  private outputs(node: YNode, path: Path): unknown {
    const n = this.deref(node);
    const str = this.reader('str');
    const body: MapSpec = {
      fields: { selector: str, value: str },
      aliases: { Selector: 'selector', Value: 'value' },
    };
    if (n && isMap(n)) {
      // v1: {NAME: {selector, value}}
      this.note(path, { start: this.start(n) });
      return n.items.map((pair, i) => {
        const itemPath = [...path, i];
        const keyStart = this.start(pair.key);
        const name = this.str(pair.key, [...itemPath, 'name']);
        const rest = this.map(pair.value, itemPath, body);
        this.note(itemPath, { start: keyStart });
        return rest ? { ...rest, name } : undefined;
      });
    }
    return this.list(n, path, (item, itemPath) => {
      const entry = this.v1Entry(item, itemPath, 'name', body);
      if (entry !== false) return entry;
      return this.map(item, itemPath, { fields: { name: str, selector: str, value: str } });
    });
  }

  /**
   * Tracetest's v1 JSON list of ordered-map entries, `{Key: <selector or name>, Value: {...}}` (Go matches the field
   * names without case). `false` when the item is not one.
   */
  private v1Entry(item: YNode, itemPath: Path, keyField: string, body: MapSpec): unknown {
    const n = this.deref(item);
    if (!n || !isMap(n) || !n.items.some((pair) => scalarText(pair.key)?.toLowerCase() === 'key')) return false;
    const fields = this.map(n, itemPath, {
      fields: {
        Key: (k) => this.str(k, [...itemPath, keyField]),
        Value: (v) => this.map(v, itemPath, body),
      },
      aliases: { key: 'Key', value: 'Value' },
    });
    this.note(itemPath, { start: this.start(n) });
    if (!fields) return undefined;
    return { ...(fields.Value as Record<string, unknown> | undefined), [keyField]: fields.Key };
  }

  private dataStore(node: YNode, path: Path): unknown {
    const n = this.deref(node);
    if (!n || (isScalar(n) && n.value === null)) return undefined;
    if (!isMap(n)) {
      this.problem(path, this.start(n), `expected a map, found ${describe(n)}`);
      return undefined;
    }
    const typePair = findPair(n, 'type');
    const type = typePair ? this.str(typePair.value, [...path, 'type']) : undefined;
    if (type !== undefined && !DATA_STORE_TYPES.some((t) => t === type)) {
      const what = TRACETEST_ONLY_DATA_STORES.includes(type.toLowerCase())
        ? `data store type "${type}" is not supported`
        : `unknown data store type "${type}"${suggestion(type, DATA_STORE_TYPES)}`;
      const otlp = OTLP_BASED_DATA_STORES.includes(type.toLowerCase())
        ? `; in Tracetest, "${type}" means spans sent to it over OTLP, which is "otlp" here`
        : '';
      this.problem(
        [...path, 'type'],
        this.start(typePair?.value),
        `${what} (supported: ${DATA_STORE_TYPES.join(', ')})${otlp}`,
      );
      return undefined;
    }
    const str = this.reader('str');
    const bool = this.reader('bool');
    const tls: Reader = (t, tp) =>
      this.map(t, tp, { fields: { insecure: bool, insecureSkipVerify: bool }, blankOnly: TLS_EXTRAS });
    const block = (name: string, reader: Reader): Reader =>
      type === undefined || type === name
        ? reader
        : (o, op) => {
            if (o === null || o === undefined) return undefined;
            this.problem(op, this.start(o), `"${name}" does not apply to a data store of type "${type}"`);
            return undefined;
          };
    return this.map(n, path, {
      fields: {
        id: str,
        name: str,
        type: () => type,
        default: bool,
        jaeger: block('jaeger', (j, jp) =>
          this.map(j, jp, { fields: { endpoint: str, tls }, blankOnly: GRPC_CLIENT_EXTRAS }),
        ),
        tempo: block('tempo', (t, tp) => {
          const tempo = this.deref(t);
          const legacy =
            tempo &&
            isMap(tempo) &&
            findPair(tempo, 'endpoint') &&
            !findPair(tempo, 'type') &&
            !findPair(tempo, 'grpc');
          if (legacy) {
            const grpc = this.map(tempo, [...tp, 'grpc'], {
              fields: { endpoint: str, tls },
              blankOnly: GRPC_CLIENT_EXTRAS,
            });
            return grpc && { type: 'grpc', grpc };
          }
          const read = this.map(t, tp, {
            fields: {
              type: str,
              http: (h, hp) =>
                this.map(h, hp, { fields: { url: str, headers: (r, rp) => this.record(r, rp, str), tls } }),
              grpc: (g, gp) => this.map(g, gp, { fields: { endpoint: str, tls }, blankOnly: GRPC_CLIENT_EXTRAS }),
            },
          });
          // Without a type, the one connection written says which (the default, http, would ignore a grpc block).
          if (read && read.type === undefined && read.grpc !== undefined && read.http === undefined) {
            return { ...read, type: 'grpc' };
          }
          return read;
        }),
      },
      ignored: ['createdAt'],
    });
  }

  // ---- generic readers ---------------------------------------------------------------------------------------

  private reader(kind: 'str' | 'bool' | 'int'): Reader {
    switch (kind) {
      case 'str':
        return (n, p) => this.str(n, p);
      case 'bool':
        return (n, p) => this.bool(n, p);
      case 'int':
        return (n, p) => this.int(n, p);
    }
  }

  private hasProblemUnder(path: Path): boolean {
    const key = formatPath([...this.prefix, ...path]);
    for (const p of this.problemPaths) if (p === key || p.startsWith(`${key}.`) || p.startsWith(`${key}[`)) return true;
    return false;
  }

  private map(node: YNode, path: Path, spec: MapSpec): Record<string, unknown> | undefined {
    const n = this.deref(node);
    if (!n || (isScalar(n) && n.value === null)) return undefined;
    if (!isMap(n)) {
      this.problem(path, this.start(n), `expected a map, found ${describe(n)}`);
      return undefined;
    }
    this.note(path, { start: this.start(n) });
    const out: Record<string, unknown> = {};
    const written = new Map<string, string>();
    for (const pair of n.items) {
      const keyNode = this.deref(pair.key);
      const keyStart = this.start(keyNode, this.start(n));
      const key = scalarText(keyNode);
      if (key === undefined) {
        this.problem(path, keyStart, `a field name must be text, found ${describe(keyNode)}`);
        continue;
      }
      if (spec.ignored?.includes(key)) continue;
      if (spec.blankOnly?.includes(key)) {
        if (!this.blank(pair.value)) {
          this.problem(
            [...path, key],
            keyStart,
            `"${key}" is a setting of Tracetest's that is not supported here (it is accepted only empty, as Tracetest exports it)`,
          );
        }
        continue;
      }
      const field = (Object.hasOwn(spec.aliases ?? {}, key) ? spec.aliases?.[key] : undefined) ?? key;
      const read = Object.hasOwn(spec.fields, field) ? spec.fields[field] : undefined;
      if (!read) {
        const known = Object.keys(spec.fields);
        this.problem([...path, key], keyStart, unknownField(key, known));
        // The field it was meant to be is then missing: said once, by the suggestion.
        const meant = nearest(key, known);
        if (meant !== undefined) this.problemPaths.add(formatPath([...this.prefix, ...path, meant]));
        continue;
      }
      const before = written.get(field);
      if (before !== undefined) {
        this.problem([...path, key], keyStart, `"${key}" and "${before}" are the same field; keep one`);
        continue;
      }
      written.set(field, key);
      const fieldPath = [...path, field];
      const value = read(pair.value, fieldPath);
      this.note(fieldPath, { keyStart });
      if (value !== undefined) out[field] = value;
    }
    return out;
  }

  private list(node: YNode, path: Path, item: Reader): unknown[] | undefined {
    const n = this.deref(node);
    if (!n || (isScalar(n) && n.value === null)) return undefined;
    if (!isSeq(n)) {
      this.problem(path, this.start(n), `expected a list, found ${describe(n)}`);
      return undefined;
    }
    this.note(path, { start: this.start(n) });
    return (n as YAMLSeq<ParsedNode | null>).items.map((child, i) => {
      const itemPath = [...path, i];
      this.note(itemPath, { start: this.start(child, this.start(n)) });
      return item(child, itemPath);
    });
  }

  private record(node: YNode, path: Path, value: Reader): Record<string, unknown> | undefined {
    const n = this.deref(node);
    if (!n || (isScalar(n) && n.value === null)) return undefined;
    if (!isMap(n)) {
      this.problem(path, this.start(n), `expected a map, found ${describe(n)}`);
      return undefined;
    }
    this.note(path, { start: this.start(n) });
    const out: Record<string, unknown> = {};
    for (const pair of n.items) {
      const key = scalarText(this.deref(pair.key));
      if (key === undefined) continue;
      const read = value(pair.value, [...path, key]);
      if (read !== undefined) out[key] = read;
    }
    return out;
  }

  /** A scalar's value (with `${NAME}` replaced) and its text; notes where each character came from. */
  private scalar(node: YNode, path: Path): { value: unknown; text: string; node: ParsedNode } | undefined {
    const n = this.deref(node);
    if (!n) return undefined;
    if (!isScalar(n)) return { value: n, text: '', node: n };
    const located = this.substitute(locate(this.text, n), path);
    let value: unknown = n.value;
    if (typeof value === 'string') {
      value = located.value;
      if (n.type === 'PLAIN' && n.value !== located.value) value = retype(located.value);
    }
    this.note(path, { start: this.start(n), offsets: located.offsets });
    return { value, text: located.value, node: n };
  }

  private str(node: YNode, path: Path): string | undefined {
    const s = this.scalar(node, path);
    if (!s || s.value === null) return undefined;
    if (typeof s.value === 'string') return s.value;
    // `value: 8080` or `in: true` in a text field: the text as written, as a Go string field would take it.
    if (typeof s.value === 'number' || typeof s.value === 'boolean' || typeof s.value === 'bigint') return s.text;
    this.problem(path, this.start(s.node), `expected text, found ${describe(s.node)}`);
    return undefined;
  }

  private bool(node: YNode, path: Path): boolean | undefined {
    const s = this.scalar(node, path);
    if (!s || s.value === null) return undefined;
    if (typeof s.value === 'boolean') return s.value;
    this.problem(path, this.start(s.node), `expected true or false, found ${describeValue(s)}`);
    return undefined;
  }

  private int(node: YNode, path: Path): number | undefined {
    const s = this.scalar(node, path);
    if (!s || s.value === null) return undefined;
    if (typeof s.value === 'number' && Number.isInteger(s.value)) return s.value;
    this.problem(path, this.start(s.node), `expected a whole number, found ${describeValue(s)}`);
    return undefined;
  }

  /** Replaces `${NAME}` (`\$\{\w+\}`, as Tracetest's CLI does: `${var:X}` and `${env:X}` stay) from the environment. */
  private substitute(located: Located, path: Path): Located {
    if (!this.env || !located.value.includes('${')) return located;
    let value = '';
    const offsets: number[] = [];
    let last = 0;
    for (const match of located.value.matchAll(/\$\{(\w+)\}/g)) {
      const at = match.index;
      for (let i = last; i < at; i++) {
        value += located.value[i];
        offsets.push(located.offsets[i] ?? 0);
      }
      const name = match[1] ?? '';
      const origin = located.offsets[at] ?? 0;
      let replacement = this.env[name];
      if (replacement === undefined) {
        this.problem(
          path,
          origin,
          `environment variable "${name}" is not set (\${${name}} would become an empty string)`,
        );
        replacement = '';
      }
      value += replacement;
      for (let i = 0; i < replacement.length; i++) offsets.push(origin);
      last = at + match[0].length;
    }
    for (let i = last; i < located.value.length; i++) {
      value += located.value[i];
      offsets.push(located.offsets[i] ?? 0);
    }
    offsets.push(located.offsets[located.value.length] ?? offsets.at(-1) ?? 0);
    return { value, offsets };
  }
}

// ---- helpers -------------------------------------------------------------------------------------------------

/** What to write instead, for a document in a format Tracetest used before its resources had `type` and `spec`. */
function olderFormat(root: YAMLMap.Parsed): string | undefined {
  if (findPair(root, 'spec')) return undefined;
  if (findPair(root, 'trigger')) {
    const renamed = findPair(root, 'testDefinition') ? ' ("testDefinition" is now "specs")' : '';
    return `: this is a test in Tracetest's older format; write "type: Test" and put its fields under "spec:"${renamed}`;
  }
  if (findPair(root, 'dataStore')) {
    return `: "dataStore:" is Tracetest's older provisioning format; write "type: DataStore" and put the data store's fields under "spec:"`;
  }
  return undefined;
}

/** The fields of Tracetest's own environments in an `Environment` that has no variable-set `values`. */
function tracetestEnvironmentFields(root: YAMLMap.Parsed): string[] {
  const spec = findPair(root, 'spec')?.value;
  if (!spec || !isMap(spec) || findPair(spec, 'values')) return [];
  return TRACETEST_ENVIRONMENT_FIELDS.filter((field) => findPair(spec, field));
}

function findPair(map: YAMLMap.Parsed, key: string): { key: ParsedNode; value: YNode } | undefined {
  const pair = map.items.find((p) => scalarText(p.key) === key);
  return pair ? { key: pair.key, value: pair.value } : undefined;
}

function scalarText(node: YNode): string | undefined {
  if (!node || !isScalar(node)) return undefined;
  const v = node.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeScalar(node.value);
  return 'something else';
}

function describeScalar(value: unknown): string {
  if (value === null) return 'nothing';
  if (typeof value === 'string') return `the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  return 'something else';
}

function describeValue(s: { value: unknown; node: ParsedNode }): string {
  return isScalar(s.node) ? describeScalar(s.value) : describe(s.node);
}

/** A plain scalar that was (partly) a replacement, typed as YAML's core schema would type the new text. */
function retype(text: string): unknown {
  if (/^[-+]?[0-9]+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  return text;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const part of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[part];
  }
  return v;
}

function schemaMessage(
  issue: { code: string; message: string; expected?: unknown; origin?: unknown; minimum?: unknown; values?: unknown },
  path: Path,
  value: unknown,
): string {
  const last = path.at(-1);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `required field "${String(last)}" is missing`;
      return `expected ${typeof issue.expected === 'string' ? issue.expected : 'another type'}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') {
        const min = Number(issue.minimum);
        return `needs at least ${min} ${min === 1 ? 'entry' : 'entries'}`;
      }
      return issue.message;
    case 'invalid_value': {
      const values = Array.isArray(issue.values) ? issue.values.map(String) : [];
      if (values.length === 1) return `must be "${values[0]}", not "${String(value)}"`;
      return `"${String(value)}" is not one of ${values.join(', ')}`;
    }
    default:
      return issue.message;
  }
}

function unknownField(key: string, known: readonly string[]): string {
  const hint = suggestion(key, known);
  return hint ? `unknown field "${key}"${hint}` : `unknown field "${key}" (known fields: ${known.join(', ')})`;
}

/** ` (did you mean "assertions"?)` for a near miss (case, one or two typos, a missing plural). */
function suggestion(written: string, known: readonly string[]): string {
  const best = nearest(written, known);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function nearest(written: string, known: readonly string[]): string | undefined {
  const lower = written.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const d = c === lower ? 0 : editDistance(lower, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = written.length <= 4 ? 1 : 2;
  return bestDistance <= limit ? best : undefined;
}

/** Edits from one word to the other; swapping two neighbours is one edit (`Tset` is one from `Test`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}

// ---- scalar text and positions -------------------------------------------------------------------------------

/**
 * A scalar's text with the file offset of each character: exact for plain, quoted and literal-block scalars (line
 * folding and escapes undone); for a folded block every character points at the block's first line. When the
 * decoding here disagrees with the YAML library's value, every character points at the start of the value.
 */
function locate(text: string, node: Scalar.Parsed): Located {
  const [start, end] = node.range;
  const raw = text.slice(start, end);
  const expected = typeof node.value === 'string' ? node.value : node.value === null ? '' : (node.source ?? raw.trim());
  let decoded: Located | undefined;
  switch (node.type) {
    case 'PLAIN':
      decoded = decodeFlow(raw, start, 'plain');
      break;
    case 'QUOTE_SINGLE':
      decoded = decodeFlow(raw.slice(1, -1), start + 1, 'single');
      break;
    case 'QUOTE_DOUBLE':
      decoded = decodeFlow(raw.slice(1, -1), start + 1, 'double');
      break;
    case 'BLOCK_LITERAL':
      decoded = decodeLiteral(raw, start);
      break;
    case 'BLOCK_FOLDED':
    case undefined:
      decoded = undefined;
  }
  if (decoded && decoded.value.startsWith(expected) && (decoded.value === expected || node.type === 'BLOCK_LITERAL')) {
    return { value: expected, offsets: decoded.offsets.slice(0, expected.length + 1) };
  }
  let origin = start;
  if (node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL') {
    const body = raw.indexOf('\n') + 1;
    const indent = /^[ ]*/.exec(raw.slice(body))?.[0].length ?? 0;
    if (body > 0) origin = start + body + indent;
  }
  return { value: expected, offsets: Array<number>(expected.length + 1).fill(origin) };
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r';

const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_ESCAPES: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

/** Plain and quoted (flow) scalars: lines folded (one break is a space, n breaks are n−1 newlines), escapes undone. */
function decodeFlow(inner: string, base: number, style: 'plain' | 'single' | 'double'): Located {
  const chars: string[] = [];
  const offsets: number[] = [];
  const lines: { from: number; text: string }[] = [];
  for (let from = 0; ;) {
    const nl = inner.indexOf('\n', from);
    lines.push({ from, text: inner.slice(from, nl < 0 ? undefined : nl) });
    if (nl < 0) break;
    from = nl + 1;
  }
  let breaks = 0;
  let lastEnd = base;
  let escapedBreak = false;
  lines.forEach((line, i) => {
    const first = i === 0;
    const last = i === lines.length - 1;
    let s = 0;
    let e = line.text.length;
    if (!first) while (s < e && isSpace(line.text[s])) s++;
    if (!last || style === 'plain') while (e > s && isSpace(line.text[e - 1])) e--;
    if (!first && !last && s === e) {
      breaks++;
      return;
    }
    if (!first && !escapedBreak) {
      for (let k = 0; k < Math.max(1, breaks); k++) {
        chars.push(breaks === 0 ? ' ' : '\n');
        offsets.push(lastEnd);
      }
    }
    breaks = 0;
    escapedBreak = false;
    let content = line.text.slice(s, e);
    if (style === 'double' && !last) {
      const backslashes = /\\*$/.exec(content)?.[0].length ?? 0;
      if (backslashes % 2 === 1) {
        content = content.slice(0, -1);
        escapedBreak = true;
      }
    }
    const at = base + line.from + s;
    decodeChars(content, at, style, chars, offsets);
    lastEnd = base + line.from + e;
  });
  offsets.push(lastEnd);
  return { value: chars.join(''), offsets };
}

function decodeChars(content: string, at: number, style: string, chars: string[], offsets: number[]): void {
  for (let i = 0; i < content.length; i++) {
    const c = content[i] ?? '';
    if (style === 'single' && c === "'" && content[i + 1] === "'") {
      chars.push("'");
      offsets.push(at + i);
      i++;
    } else if (style === 'double' && c === '\\' && i + 1 < content.length) {
      const next = content[i + 1] ?? '';
      const hex = HEX_ESCAPES[next];
      let decoded: string;
      let width = 2;
      if (hex !== undefined) {
        const code = Number.parseInt(content.slice(i + 2, i + 2 + hex), 16);
        decoded = Number.isNaN(code) ? next : String.fromCodePoint(code);
        width = 2 + hex;
      } else decoded = ESCAPES[next] ?? next;
      for (const unit of decoded.split('')) {
        chars.push(unit);
        offsets.push(at + i);
      }
      i += width - 1;
    } else {
      chars.push(c);
      offsets.push(at + i);
    }
  }
}

/** A literal block (`|`): each line without the block's indentation, a newline after each. */
function decodeLiteral(raw: string, start: number): Located | undefined {
  const header = raw.indexOf('\n');
  if (header < 0) return undefined;
  const body = raw.slice(header + 1);
  const base = start + header + 1;
  const lines: { from: number; text: string }[] = [];
  for (let from = 0; from < body.length;) {
    const nl = body.indexOf('\n', from);
    lines.push({ from, text: body.slice(from, nl < 0 ? undefined : nl).replace(/\r$/, '') });
    if (nl < 0) break;
    from = nl + 1;
  }
  const firstContent = lines.find((l) => l.text.trim() !== '');
  const indent = firstContent ? (/^ */.exec(firstContent.text)?.[0].length ?? 0) : 0;
  const chars: string[] = [];
  const offsets: number[] = [];
  for (const line of lines) {
    const content = line.text.length > indent ? line.text.slice(indent) : '';
    for (let i = 0; i < content.length; i++) {
      chars.push(content[i] ?? '');
      offsets.push(base + line.from + indent + i);
    }
    chars.push('\n');
    offsets.push(base + line.from + line.text.length);
  }
  offsets.push(start + raw.length);
  return { value: chars.join(''), offsets };
}
