import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, truthy } from './config.js';
import { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES } from './redact.js';

describe('agent settings', () => {
  it('has safe defaults without any setting', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ service: 'node-service', debug: false, workerThreads: false, probeMethod: 'auto' });
    expect(c.url).toBeUndefined();
    expect(c.redactNames).toEqual([...DEFAULT_REDACT_NAMES]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads SPYGLASS_* variables: strings, numbers, switches, tags and lists', () => {
    const c = loadConfig({
      SPYGLASS_URL: 'http://hub:8080',
      SPYGLASS_KEY: 'k',
      SPYGLASS_SERVICE: 'checkout',
      SPYGLASS_TAGS: 'region=eu, zone = a ,canary',
      SPYGLASS_CPU_BUDGET_PCT: '10',
      SPYGLASS_AGENT_DEBUG: '1',
      SPYGLASS_WORKER_THREADS: 'true',
      SPYGLASS_BLOCKLIST: '/secrets/, auth.ts',
      SPYGLASS_REDACT_NAMES: 'ssn',
      SPYGLASS_MAP_SLICE_MS: '0',
      SPYGLASS_DEBUGGER_LINGER_MS: '500',
      SPYGLASS_PATCH_MAX_FUNCTIONS: '300',
      SPYGLASS_PIPE_FORMAT: 'json',
    });
    expect(c).toMatchObject({
      url: 'http://hub:8080',
      key: 'k',
      service: 'checkout',
      tags: { region: 'eu', zone: 'a', canary: '' },
      cpuBudgetPct: 10,
      debug: true,
      workerThreads: true,
      blocklist: ['/secrets/', 'auth.ts'],
      mapSliceMs: 0,
      debuggerLingerMs: 500,
      patchMaxFunctions: 300,
      pipeFormat: 'json',
    });
    // Extra names add to the defaults unless SPYGLASS_REDACT_DEFAULTS=false.
    expect(c.redactNames).toEqual([...DEFAULT_REDACT_NAMES, 'ssn']);
    const bare = loadConfig({ SPYGLASS_REDACT_DEFAULTS: 'false', SPYGLASS_REDACT_VALUES: 'a{3};;b,c' });
    expect(bare.redactNames).toEqual([]);
    expect(bare.redactValues).toEqual(['a{3}', 'b,c']);
    expect(loadConfig({ SPYGLASS_REDACT_VALUES: 'x+' }).redactValues).toEqual([...DEFAULT_REDACT_VALUES, 'x+']);
  });

  it('treats empty, 0 and false as off for switches', () => {
    for (const off of [undefined, '', '0', 'false']) expect(truthy(off)).toBe(false);
    for (const on of ['1', 'true', 'yes']) expect(truthy(on)).toBe(true);
    expect(loadConfig({ SPYGLASS_WORKER_THREADS: '0' }).workerThreads).toBe(false);
  });

  it('lets start() options win over the environment', () => {
    const c = loadConfig(
      { SPYGLASS_SERVICE: 'from-env', SPYGLASS_WORKER_THREADS: '1' },
      { service: 'from-code', workerThreads: false, serviceVersion: undefined },
    );
    expect(c.service).toBe('from-code');
    expect(c.workerThreads).toBe(false);
    const logger = (): void => undefined;
    expect(loadConfig({}, { logger }).logger).toBe(logger);
    expect(loadConfig({}).pipeFormat).toBe('text');
  });

  it('reports every invalid setting at once, by name', () => {
    let error: unknown;
    try {
      loadConfig({
        SPYGLASS_URL: 'not a url',
        SPYGLASS_CPU_BUDGET_PCT: '-1',
        SPYGLASS_PROBE_METHOD: 'magic',
        SPYGLASS_DEBUGGER_LINGER_MS: 'soon',
        SPYGLASS_PIPE_FORMAT: 'xml',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const key of ['url', 'cpuBudgetPct', 'probeMethod', 'debuggerLingerMs', 'pipeFormat'])
      expect(message).toContain(`${key}:`);
  });

  it('refuses redaction patterns that could backtrack', () => {
    expect(() => loadConfig({ SPYGLASS_REDACT_VALUES: '(a+)+$' })).toThrow(/redactValues\.\d+:/);
    expect(() => loadConfig({ SPYGLASS_REDACT_VALUES: '(a)\\1' })).toThrow(/back-references/);
  });
});
