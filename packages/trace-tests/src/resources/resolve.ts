import { parseResources, type DefinitionProblem, type ParsedResource } from './parse.js';
import type { Resource, TestSpec, Trigger } from './schema.js';

/** File access for `resolveReferences`, given by the caller so that this package reads no files itself. */
export interface ResolveOptions {
  /** The text of a file; rejects when it cannot be read. */
  readonly readFile: (path: string) => Promise<string>;
  readonly dirname: (path: string) => string;
  readonly join: (...parts: string[]) => string;
  /** `${NAME}` in the files read, as for `parseResources`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Resolves the files resources name, as Tracetest's CLI does before it applies them, relative to the file that names
 * them: a suite's steps that look like paths (`./login.yaml`, `../tests/login.yml`, `login.yaml`) are read and parsed
 * and their tests come before the suite, whose steps become their ids; a test's `pollingProfile` given as a path
 * likewise; a gRPC trigger's `protobufFile` given as a path (not `.proto` text) becomes the file's text; an HTTP body
 * given as a relative path (`./body.json`) becomes the file's text. (Tracetest's CLI sends such a body as it is when the
 * file is missing; here that is a problem, as a body that is only `./name` is a path gone wrong far more often.)
 *
 * The resources come back in the order to apply them, each once. A problem points at the field that names the file
 * (or into the file read). Nothing is returned when there is a problem.
 */
export async function resolveReferences(
  parsed: readonly ParsedResource[],
  options: ResolveOptions,
): Promise<{ resources: ParsedResource[]; problems: DefinitionProblem[] }> {
  const resolver = new Resolver(options);
  for (const resource of parsed) resolver.emit(await resolver.resolve(resource));
  const problems = resolver.problems;
  return { resources: problems.length > 0 ? [] : resolver.ordered, problems };
}

/** Tracetest takes `./`, `../` and `/` as a path; so is a name ending in `.yaml`, `.yml` or `.json` here. */
export function looksLikeFilePath(text: string): boolean {
  return /^(\.\.?\/|\/|[A-Za-z]:[\\/])/.test(text) || /\.(ya?ml|json)$/i.test(text);
}

/** Inline `.proto` text says `syntax =` or `service …` or spans lines; anything else is a path. */
export function looksLikeProtoPath(text: string): boolean {
  return text.trim() !== '' && !/[\r\n]/.test(text) && !/\bsyntax\s*=/.test(text) && !/\bservice\s/.test(text);
}

interface FileRead {
  readonly resources: ParsedResource[];
  readonly problems: DefinitionProblem[];
}

class Resolver {
  readonly problems: DefinitionProblem[] = [];
  readonly ordered: ParsedResource[] = [];
  private readonly byId = new Map<string, ParsedResource>();
  private readonly files = new Map<string, Promise<FileRead | undefined>>();

  constructor(private readonly io: ResolveOptions) {}

  /** Adds a resource to apply unless the same one is already there; two different ones with one id are a problem. */
  emit(parsed: ParsedResource): void {
    const key = `${parsed.resource.type}\u0000${parsed.resource.spec.id}`;
    const known = this.byId.get(key);
    if (!known) {
      this.byId.set(key, parsed);
      this.ordered.push(parsed);
    } else if (JSON.stringify(known.resource) !== JSON.stringify(parsed.resource)) {
      this.problemAt(
        parsed,
        'spec.id',
        `${known.file} (line ${known.line}) has another ${parsed.resource.type} with the id "${parsed.resource.spec.id}"`,
      );
    }
  }

  async resolve(parsed: ParsedResource): Promise<ParsedResource> {
    const { resource } = parsed;
    switch (resource.type) {
      case 'Test':
        return this.withResource(parsed, { type: 'Test', spec: await this.resolveTest(parsed, resource.spec) });
      case 'TestSuite': {
        const steps: string[] = [];
        for (const [i, step] of resource.spec.steps.entries()) {
          if (!looksLikeFilePath(step)) {
            steps.push(step);
            continue;
          }
          const test = await this.readOne(parsed, `spec.steps[${i}]`, step, 'Test');
          if (!test) {
            steps.push(step);
            continue;
          }
          const resolved = await this.resolve(test);
          this.emit(resolved);
          steps.push(resolved.resource.spec.id);
        }
        return this.withResource(parsed, { type: 'TestSuite', spec: { ...resource.spec, steps } });
      }
      case 'VariableSet':
      case 'PollingProfile':
      case 'DataStore':
        return parsed;
    }
  }

  private async resolveTest(parsed: ParsedResource, spec: TestSpec): Promise<TestSpec> {
    let { pollingProfile } = spec;
    if (pollingProfile !== undefined && looksLikeFilePath(pollingProfile)) {
      const profile = await this.readOne(parsed, 'spec.pollingProfile', pollingProfile, 'PollingProfile');
      if (profile) {
        this.emit(profile);
        pollingProfile = profile.resource.spec.id;
      }
    }
    return { ...spec, trigger: await this.resolveTrigger(parsed, spec.trigger), pollingProfile };
  }

  private async resolveTrigger(parsed: ParsedResource, trigger: Trigger): Promise<Trigger> {
    if (trigger.type === 'grpc' && looksLikeProtoPath(trigger.grpc.protobufFile)) {
      const text = await this.readText(parsed, 'spec.trigger.grpc.protobufFile', trigger.grpc.protobufFile);
      if (text !== undefined) return { ...trigger, grpc: { ...trigger.grpc, protobufFile: text } };
    }
    const body = trigger.type === 'http' ? trigger.httpRequest.body : undefined;
    if (trigger.type === 'http' && body !== undefined && /^\.\.?\/\S+$/.test(body)) {
      const text = await this.readText(parsed, 'spec.trigger.httpRequest.body', body);
      if (text !== undefined) return { ...trigger, httpRequest: { ...trigger.httpRequest, body: text } };
    }
    return trigger;
  }

  /** The one resource of `type` in the file a field names; problems otherwise. */
  private async readOne(
    from: ParsedResource,
    field: string,
    reference: string,
    type: 'Test' | 'PollingProfile',
  ): Promise<ParsedResource | undefined> {
    const path = this.pathOf(from, reference);
    let read = this.files.get(path);
    if (!read) {
      read = this.readText(from, field, reference).then((text) => {
        if (text === undefined) return undefined;
        const result = parseResources(text, { file: path, ...(this.io.env ? { env: this.io.env } : {}) });
        this.problems.push(...result.problems);
        return result;
      });
      this.files.set(path, read);
    }
    const result = await read;
    if (!result || result.problems.length > 0) return undefined;
    const [first, ...rest] = result.resources;
    const what = type === 'Test' ? "a suite step's file" : "a test's polling profile file";
    if (!first) {
      this.problemAt(from, field, `"${reference}" holds no resource; ${what} holds one ${type}`);
    } else if (rest.length > 0) {
      this.problemAt(
        from,
        field,
        `"${reference}" holds ${result.resources.length} resources; ${what} holds one ${type}`,
      );
    } else if (first.resource.type !== type) {
      this.problemAt(from, field, `"${reference}" holds a ${first.resource.type}, not a ${type}`);
    } else return first;
    return undefined;
  }

  private async readText(from: ParsedResource, field: string, reference: string): Promise<string | undefined> {
    const path = this.pathOf(from, reference);
    try {
      return await this.io.readFile(path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.problemAt(from, field, `cannot read "${reference}" (${path}): ${reason}`);
      return undefined;
    }
  }

  /** A reference relative to the file of the resource that makes it. */
  private pathOf(from: ParsedResource, reference: string): string {
    if (/^(\/|[A-Za-z]:[\\/])/.test(reference)) return reference;
    return this.io.join(this.io.dirname(from.file), reference);
  }

  private problemAt(from: ParsedResource, field: string, message: string): void {
    const position = from.positions[field] ?? { line: from.line, column: 1 };
    this.problems.push({ file: from.file, ...position, path: field, message });
  }

  private withResource(parsed: ParsedResource, resource: Resource): ParsedResource {
    return { ...parsed, resource };
  }
}
