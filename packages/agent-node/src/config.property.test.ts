/**
 * The hand-written settings checker of config.ts against the zod schema it replaces (config-schema.ts): for generated
 * options and environments, mixing valid and invalid values for every setting, both accept with the same settings or
 * both refuse, naming the same settings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WIRE_LIMITS } from '@spyglass/protocol/agent-base';
import { agentOptionsSchema } from './config-schema.js';
import { ConfigError, loadConfig, localSettings, optionsFromEnv, type AgentConfig } from './config.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES } from './redact.js';

const SEED = 20_240_611;
const RUNS = 2000;

const KEYS = Object.keys(agentOptionsSchema.shape);

const PREFIX = 'invalid agent settings: ';

/** The settings a ConfigError names: the first segment of each `path: message`. */
function keysNamed(message: string): Set<string> {
  expect(message.startsWith(PREFIX)).toBe(true);
  const body = message.slice(PREFIX.length);
  return new Set(KEYS.filter((k) => new RegExp(`(?:^|; )${k}[.:]`).test(body)));
}

const PATH = new RegExp(`(?:^|; )((?:${KEYS.join('|')})(?:\\.[^.:;]*)*): `, 'g');

/** The full paths a ConfigError names (`tags.region`, `redactValues.2`). */
const pathsNamed = (message: string): Set<string> =>
  new Set([...message.slice(PREFIX.length).matchAll(PATH)].map((m) => m[1]!));

/** Both accept with equal settings, or both refuse over the same settings. */
function agree(ours: () => AgentConfig, reference: ReturnType<typeof agentOptionsSchema.safeParse>): void {
  let config: AgentConfig | undefined;
  let error: unknown;
  try {
    config = ours();
  } catch (err) {
    error = err;
  }
  if (reference.success) {
    expect(error).toBeUndefined();
    expect(config).toStrictEqual(reference.data);
    expect(Object.isFrozen(config)).toBe(true);
  } else {
    expect(error).toBeInstanceOf(ConfigError);
    const named = keysNamed((error as Error).message);
    expect(named).toEqual(new Set(reference.error.issues.map((i) => String(i.path[0]))));
    // Deeper paths too, where the path's segments (tag names) leave the message unambiguous.
    const segments = reference.error.issues.flatMap((i) => i.path.map(String));
    if (segments.every((seg) => !/[.:;]/.test(seg))) {
      const paths = new Set(reference.error.issues.map((i) => i.path.map(String).join('.')));
      expect(pathsNamed((error as Error).message)).toEqual(paths);
    }
  }
}

// ---- values ---------------------------------------------------------------------------------------------------------

const fnValue = (): void => undefined;

/** Values of the wrong kind for most settings, and edge cases of the right kind. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    null,
    NaN,
    Infinity,
    -Infinity,
    0,
    -0,
    -1,
    0.5,
    1e300,
    2 ** 53,
    true,
    false,
    '',
    ' ',
    'x',
    '5',
    [],
    ['x'],
    {},
    { length: 3 },
    fnValue,
    Symbol('s'),
    10n,
    new Date(0),
    new Map(),
    Object.create(null),
  ),
  fc.string({ maxLength: 6 }),
  fc.double(),
  fc.integer(),
);

const longString = (min: number, max: number): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min, max }), fc.constantFrom('a', ' ', 'é', '\u{1F600}')).map(([n, c]) => c.repeat(n));

const str: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', ' ', '  ', ' a ', '\t', '\u00a0', '\ufeffx\u2028', 'node'),
  longString(250, 260),
);

const goodUrl: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'http://hub:8080',
    'https://hub.example.com/base/',
    'ws://127.0.0.1:4000',
    'wss://[::1]:443',
    ' http://hub:8080 ',
    '\u00a0http://hub\u00a0',
    'http://hu\tb:8080',
    'https://exa\nmple.com',
    'mailto:a@b',
    'file:///tmp/x',
    'x:',
    'http:hub',
    'HTTP://HUB',
  ),
  fc.webUrl(),
  fc.webUrl().map((u) => ` ${u}\n`),
);
const badUrl: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    'not a url',
    '',
    ' ',
    'hub:8080x',
    '//hub',
    '://hub',
    'http://',
    'http://[::1',
    'http://a b',
    '1http://x',
  ),
  fc.string({ maxLength: 10 }),
  junk,
);

const finiteOrNot: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.integer({ min: -10, max: 2000 }),
  fc.constantFrom(0, -0, 1, 2, 8, 32, 33, 99.5, 100, 100.0001, 1000, 1000.5, 60_000, 2 ** 53 - 1, 2 ** 53, 1e21),
  fc.constantFrom(-1, 0.1, 1.5, Number.MIN_VALUE, Number.MAX_VALUE, Number.EPSILON, -(2 ** 53)),
  junk,
);
const goodCount = fc.integer({ min: 1, max: 1_000_000 });
const goodPct = fc.oneof(fc.double({ min: Number.MIN_VALUE, max: 100, noNaN: true }), fc.constantFrom(100, 1, 0.01));

const enumValue = (values: readonly string[]): fc.Arbitrary<unknown> =>
  fc.oneof(fc.constantFrom(...values), fc.constantFrom('magic', '', values[0]!.toUpperCase(), ` ${values[0]}`), junk);

const stringList = (element: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(element, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.sparseArray(element, { maxLength: 4 }) },
    { weight: 1, arbitrary: junk },
  );

const goodPattern = fc.constantFrom('a{3}', 'x+', '\\d{4}', '[a-z]+@x\\.com', '^foo$', ...DEFAULT_REDACT_VALUES);
const badPattern = fc.constantFrom(
  '(a+)+$',
  '(a*)*',
  '(a|b)*',
  '(a)\\1',
  '(?<n>a)\\k<n>',
  '(?=x)',
  '(?!x)',
  '(?<=x)y',
  '(',
  ')',
  '[',
  'a**',
  '+',
  '\\',
  'x'.repeat(600),
);
const anyPattern: fc.Arbitrary<unknown> = fc.oneof(goodPattern, badPattern, fc.string({ maxLength: 6 }), junk);

/** A tags object built with own properties (so `__proto__` is a key, not the prototype), some not enumerable. */
const tagsFrom = (entries: [PropertyKey, unknown, boolean?][], proto: object | null = Object.prototype): object => {
  const o = Object.create(proto) as object;
  for (const [k, v, enumerable = true] of entries)
    Object.defineProperty(o, k, { value: v, enumerable, writable: true, configurable: true });
  return o;
};
const oddTagName = fc.constantFrom<PropertyKey>(
  '',
  'k'.repeat(63),
  'k'.repeat(64),
  '\u{1F600}'.repeat(63),
  '\u{1F600}'.repeat(64),
  '__proto__',
  'constructor',
  '0',
  Symbol('t'),
);
const tagName: fc.Arbitrary<PropertyKey> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 70 }) },
  { weight: 2, arbitrary: oddTagName },
);
const tagValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.oneof(longString(254, 256), junk) },
);
const goodTags = fc
  .tuple(fc.integer({ min: 0, max: WIRE_LIMITS.maxTagsPerAgent }), fc.string({ maxLength: 20 }))
  .map(([n, v]) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, v])));
const anyTags: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(fc.tuple(tagName, tagValue), { maxLength: 6 }).map((e) => tagsFrom(e)),
  // Odd names with bad values: skipped (`__proto__`, not enumerable) or refused.
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(oddTagName, fc.oneof(tagValue, junk), fc.boolean()), { minLength: 1, maxLength: 3 })
      .map((e) => tagsFrom(e)),
  },
  fc.array(fc.tuple(tagName, tagValue), { maxLength: 3 }).map((e) => tagsFrom(e, null)),
  // Around the limit on the number of tags, sometimes with one bad name or value as well.
  fc
    .tuple(
      fc.integer({ min: WIRE_LIMITS.maxTagsPerAgent - 1, max: WIRE_LIMITS.maxTagsPerAgent + 3 }),
      fc.option(fc.tuple(tagName, tagValue)),
    )
    .map(([n, extra]) =>
      tagsFrom([...Array.from({ length: n }, (_, i): [string, string] => [`t${i}`, 'v']), ...(extra ? [extra] : [])]),
    ),
  fc.constantFrom<unknown>([], ['a'], new Date(0), new Map([['a', 'b']]), new (class Tags {})()),
  junk,
);

const anyBool: fc.Arbitrary<unknown> = fc.oneof(fc.boolean(), junk);
const anyLogger: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(fnValue, async () => await Promise.resolve(), class Logger {}, Math.max),
  junk,
);

type Arbs = Record<string, fc.Arbitrary<unknown>>;

/** Per setting: values meant to pass, and values of every kind (most of which fail). */
const SETTINGS: Record<string, { good: fc.Arbitrary<unknown>; any: fc.Arbitrary<unknown> }> = {
  url: { good: goodUrl, any: fc.oneof(goodUrl, badUrl) },
  key: { good: fc.string({ minLength: 1, maxLength: 12 }), any: fc.oneof(str, junk) },
  service: { good: fc.constantFrom('checkout', ' cart ', 'a'.repeat(255)), any: fc.oneof(str, junk) },
  serviceVersion: { good: fc.constantFrom('1.2.3', '', 'v'.repeat(255)), any: fc.oneof(str, junk) },
  environment: { good: fc.string({ maxLength: 12 }), any: fc.oneof(str, junk) },
  tags: { good: goodTags, any: anyTags },
  debug: { good: fc.boolean(), any: anyBool },
  quiet: { good: fc.boolean(), any: anyBool },
  workerThreads: { good: fc.boolean(), any: anyBool },
  cpuBudgetPct: { good: goodPct, any: finiteOrNot },
  actionCpuBudgetPct: { good: goodPct, any: finiteOrNot },
  maxLogsPerSecondPerAction: { good: goodCount, any: finiteOrNot },
  maxLogsPerSecond: { good: goodCount, any: finiteOrNot },
  maxLogBytesPerSecond: { good: goodCount, any: finiteOrNot },
  maxBufferedLogs: { good: goodCount, any: finiteOrNot },
  maxBufferedSnapshots: { good: goodCount, any: finiteOrNot },
  maxBufferedMetrics: { good: goodCount, any: finiteOrNot },
  maxBufferedBytes: { good: goodCount, any: finiteOrNot },
  redactNames: {
    good: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 4 }),
    any: stringList(fc.oneof(str, junk)),
  },
  redactValues: { good: fc.array(goodPattern, { maxLength: 4 }), any: stringList(anyPattern) },
  pipeFormat: { good: fc.constantFrom('text', 'json'), any: enumValue(['text', 'json']) },
  logger: { good: fc.constant(fnValue), any: anyLogger },
  blocklist: { good: fc.array(fc.constantFrom('/secrets/', 'auth.ts'), { maxLength: 3 }), any: stringList(str) },
  sourceRoots: { good: fc.array(fc.constantFrom('/app', '/src'), { maxLength: 3 }), any: stringList(str) },
  asyncStackDepth: { good: fc.integer({ min: 0, max: 32 }), any: finiteOrNot },
  asyncStackRecording: { good: fc.boolean(), any: anyBool },
  probeMethod: {
    good: fc.constantFrom('auto', 'patch', 'breakpoint'),
    any: enumValue(['auto', 'patch', 'breakpoint']),
  },
  mapSliceMs: { good: fc.oneof(fc.double({ min: 0, max: 1000, noNaN: true }), fc.constant(0)), any: finiteOrNot },
  mapWorker: { good: fc.boolean(), any: anyBool },
  debuggerLingerMs: { good: fc.nat(), any: finiteOrNot },
  patchMaxFunctions: { good: fc.nat(), any: finiteOrNot },
  patchRetryMs: { good: goodCount, any: finiteOrNot },
  policyCache: { good: fc.constantFrom('off', '/tmp/policy.json'), any: fc.oneof(str, junk) },
  reconnectMinMs: { good: goodCount, any: finiteOrNot },
  reconnectMaxMs: { good: goodCount, any: finiteOrNot },
};

const mapValues = (pick: 'good' | 'any'): Arbs =>
  Object.fromEntries(Object.entries(SETTINGS).map(([k, v]) => [k, v[pick]]));

/** Settings with more ways to go wrong are overwritten more often. */
const OVERRIDE_WEIGHT: Record<string, number> = { tags: 4, redactValues: 3, url: 2, service: 2 };

/**
 * Options: valid values for some settings, then a few settings (none to several) overwritten with values of any
 * kind, over keys the schema does not know. Many runs are valid throughout, most have one or more problems.
 */
const options: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.dictionary(fc.string({ maxLength: 8 }), junk, { maxKeys: 3 }),
    fc.record(mapValues('good'), { requiredKeys: [] }),
    fc.array(
      fc.oneof(
        ...KEYS.map((k) => ({
          weight: OVERRIDE_WEIGHT[k] ?? 1,
          arbitrary: SETTINGS[k]!.any.map((v): [string, unknown] => [k, v]),
        })),
      ),
      { maxLength: 5 },
    ),
  )
  .map(([unknown, good, overrides]) => ({ ...unknown, ...good, ...Object.fromEntries(overrides) }));

// ---- environment ----------------------------------------------------------------------------------------------------

const envNumber = fc.oneof(
  fc.constantFrom('10', '-1', '0', '-0', '1.5', '100', '101', '32', '33', '1e3', '0x10', ' 5 ', 'soon', 'NaN'),
  fc.constantFrom('Infinity', '9007199254740993', '1000.5', '', ' '),
  fc.integer({ min: -5, max: 100_000 }).map(String),
  fc.double().map(String),
);
const envSwitch = fc.constantFrom('', '0', 'false', '1', 'true', 'yes', 'FALSE');
const envText = fc.oneof(fc.constantFrom('', ' ', 'checkout', ' a ', 'a'.repeat(256)), fc.string({ maxLength: 8 }));
const envTags = fc.oneof(
  fc.constantFrom('region=eu, zone = a ,canary', '=x', 'a=b=c', ',,', `${'k'.repeat(64)}=v`, `k=${'v'.repeat(256)}`),
  fc
    .integer({ min: WIRE_LIMITS.maxTagsPerAgent - 1, max: WIRE_LIMITS.maxTagsPerAgent + 2 })
    .map((n) => Array.from({ length: n }, (_, i) => `t${i}=v`).join(',')),
  fc.string({ maxLength: 12 }),
);
const envPatterns = fc.oneof(
  fc.array(fc.oneof(goodPattern, badPattern), { maxLength: 3 }).map((p) => p.join(';;')),
  fc.constantFrom('a{3};;b,c', '(a+)+$', '(a)\\1', 'x+\n(', ''),
  fc.string({ maxLength: 8 }),
);
const envList = fc.oneof(fc.constantFrom('/secrets/, auth.ts', ',', ' , ', ''), fc.string({ maxLength: 8 }));

const ENV: Arbs = {
  SPYGLASS_URL: fc.oneof(
    goodUrl,
    badUrl.filter((v): v is string => typeof v === 'string'),
  ),
  SPYGLASS_KEY: envText,
  SPYGLASS_SERVICE: envText,
  SPYGLASS_SERVICE_VERSION: envText,
  SPYGLASS_ENVIRONMENT: envText,
  SPYGLASS_PROBE_METHOD: fc.constantFrom('auto', 'patch', 'breakpoint', 'magic', ''),
  SPYGLASS_PIPE_FORMAT: fc.constantFrom('text', 'json', 'xml', ''),
  SPYGLASS_POLICY_CACHE: envText,
  SPYGLASS_CPU_BUDGET_PCT: envNumber,
  SPYGLASS_ACTION_CPU_BUDGET_PCT: envNumber,
  SPYGLASS_MAX_LOGS_PER_SECOND: envNumber,
  SPYGLASS_MAX_LOGS_PER_SECOND_PER_ACTION: envNumber,
  SPYGLASS_MAX_LOG_BYTES_PER_SECOND: envNumber,
  SPYGLASS_RECONNECT_MIN_MS: envNumber,
  SPYGLASS_RECONNECT_MAX_MS: envNumber,
  SPYGLASS_PATCH_RETRY_MS: envNumber,
  SPYGLASS_MAP_SLICE_MS: envNumber,
  SPYGLASS_DEBUGGER_LINGER_MS: envNumber,
  SPYGLASS_PATCH_MAX_FUNCTIONS: envNumber,
  SPYGLASS_MAX_BUFFERED_BYTES: envNumber,
  SPYGLASS_ASYNC_STACK_DEPTH: envNumber,
  SPYGLASS_AGENT_DEBUG: envSwitch,
  SPYGLASS_AGENT_QUIET: envSwitch,
  SPYGLASS_WORKER_THREADS: envSwitch,
  SPYGLASS_ASYNC_STACK_RECORDING: envSwitch,
  SPYGLASS_MAP_WORKER: envSwitch,
  SPYGLASS_TAGS: envTags,
  SPYGLASS_REDACT_DEFAULTS: fc.constantFrom('false', 'true', ''),
  SPYGLASS_REDACT_NAMES: envList,
  SPYGLASS_REDACT_VALUES: envPatterns,
  SPYGLASS_BLOCKLIST: envList,
  SPYGLASS_SOURCE_ROOTS: envList,
  UNRELATED: fc.string({ maxLength: 4 }),
};

/** An environment setting a few variables (most runs set under half of them, so many are valid). */
const env: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.oneof(...Object.entries(ENV).map(([k, a]) => a.map((v): [string, string] => [k, v as string]))), {
    maxLength: 8,
  })
  .map((entries) => Object.fromEntries(entries));

// ---- properties -----------------------------------------------------------------------------------------------------

describe('agent settings checker against the schema', () => {
  it('covers every setting of the schema', () => {
    expect(Object.keys(SETTINGS).sort()).toEqual([...KEYS].sort());
    expect(loadConfig({})).toStrictEqual(agentOptionsSchema.parse({}));
    expect(loadConfig({}).redactNames).not.toBe(loadConfig({}).redactNames);
    expect(loadConfig({}).redactNames).toEqual([...DEFAULT_REDACT_NAMES]);
  });

  it('agrees with the schema on start() options', () => {
    let accepted = 0;
    fc.assert(
      fc.property(options, (o) => {
        const reference = agentOptionsSchema.safeParse(localSettings({}, o));
        if (reference.success) accepted++;
        agree(() => loadConfig({}, o), reference);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Both outcomes are exercised in earnest.
    expect(accepted).toBeGreaterThan(RUNS / 10);
    expect(accepted).toBeLessThan(RUNS * 0.9);
  });

  it('agrees with the schema on SPYGLASS_* environment variables', () => {
    let accepted = 0;
    fc.assert(
      fc.property(env, (e) => {
        const reference = agentOptionsSchema.safeParse(optionsFromEnv(e));
        if (reference.success) accepted++;
        agree(() => loadConfig(e), reference);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 10);
    expect(accepted).toBeLessThan(RUNS * 0.9);
  });

  it('agrees with the schema on options over an environment', () => {
    fc.assert(
      fc.property(env, options, (e, o) => {
        agree(() => loadConfig(e, o), agentOptionsSchema.safeParse(localSettings(e, o)));
      }),
      { seed: SEED, numRuns: RUNS / 2 },
    );
  });
});
