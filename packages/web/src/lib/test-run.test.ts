import type { SpecResultData } from '@spyglass/trace-tests';
import { describe, expect, it } from 'vitest';
import {
  formatDurationMs,
  pollIntervalMs,
  resultCounts,
  runDurationMs,
  runStatus,
  spanMarkCss,
  specSpanMarks,
} from './test-run.js';

const spec: SpecResultData = {
  index: 0,
  selector: 'span[name="GET /books/:id"]',
  spanIds: ['aaaa000000000001', 'aaaa000000000002'],
  passed: false,
  assertions: [
    {
      assertion: 'attr:http.status_code = 200',
      passed: false,
      spans: [
        { spanId: 'aaaa000000000001', observed: '200', passed: true },
        { spanId: 'aaaa000000000002', observed: '404', passed: false },
      ],
    },
    {
      assertion: 'attr:tracetest.selected_spans.count = 2',
      passed: true,
      spans: [
        { spanId: 'aaaa000000000001', observed: '2', passed: true },
        { spanId: 'aaaa000000000002', observed: '2', passed: true },
      ],
    },
  ],
};

describe('runStatus', () => {
  it('says the verdict of a finished run and where an unfinished one is', () => {
    expect(runStatus({ state: 'FINISHED', passed: true })).toEqual({ label: 'passed', tone: 'ok' });
    expect(runStatus({ state: 'FINISHED', passed: false })).toEqual({ label: 'failed', tone: 'err' });
    expect(runStatus({ state: 'TRIGGER_FAILED', passed: null })).toEqual({ label: 'trigger failed', tone: 'err' });
    expect(runStatus({ state: 'TRACE_FAILED', passed: null })).toEqual({ label: 'trace failed', tone: 'err' });
    expect(runStatus({ state: 'STOPPED', passed: null }).label).toBe('stopped');
    expect(runStatus({ state: 'EXECUTING', passed: null }).label).toBe('triggering');
    expect(runStatus({ state: 'AWAITING_TRACE', passed: null, spanCount: 5 })).toEqual({
      label: 'awaiting trace (5 spans)',
      tone: 'warn',
    });
    expect(runStatus({ state: 'AWAITING_TRACE', passed: null, spanCount: 1 }).label).toBe('awaiting trace (1 span)');
    expect(runStatus({ state: 'AWAITING_TRACE', passed: null }).label).toBe('awaiting trace');
    expect(runStatus({ state: 'AWAITING_TEST_RESULTS', passed: null }).label).toBe('checking assertions');
  });
});

describe('durations and polling', () => {
  it('measures a run from its creation to its end', () => {
    expect(runDurationMs({ createdAt: 1000, finishedAt: 2250 })).toBe(1250);
    expect(runDurationMs({ createdAt: 1000, finishedAt: null })).toBeNull();
    expect(formatDurationMs(12)).toBe('12ms');
    expect(formatDurationMs(1250)).toBe('1.25s');
    expect(formatDurationMs(12_340)).toBe('12.3s');
    expect(formatDurationMs(125_000)).toBe('2m 5s');
  });
  it('polls until the run is final', () => {
    expect(pollIntervalMs(undefined)).toBe(1000);
    expect(pollIntervalMs({ state: 'AWAITING_TRACE' })).toBe(500);
    for (const state of ['FINISHED', 'TRIGGER_FAILED', 'TRACE_FAILED', 'STOPPED'] as const)
      expect(pollIntervalMs({ state })).toBe(false);
  });
});

describe('span marks', () => {
  it('marks every selected span, failed where an assertion failed on it', () => {
    expect([...specSpanMarks(spec)]).toEqual([
      ['aaaa000000000001', 'pass'],
      ['aaaa000000000002', 'fail'],
    ]);
    const none: SpecResultData = {
      ...spec,
      spanIds: [],
      assertions: [{ assertion: 'attr:a = 1', passed: false, spans: [{ spanId: null, observed: '', passed: false }] }],
    };
    expect(specSpanMarks(none).size).toBe(0);
  });

  it('writes rules for hex span ids only, scoped to the view', () => {
    const css = spanMarkCss('run-trace', specSpanMarks(spec));
    expect(css).toContain('.run-trace .wf-span[data-span-id="aaaa000000000001"] {\n  --span-mark: pass;');
    expect(css).toContain('.run-trace .wf-span[data-span-id="aaaa000000000002"] {\n  --span-mark: fail;');
    const hostile = spanMarkCss('run-trace', new Map([['"] {} body { display: none } [x="', 'fail']]));
    expect(hostile).toBe('');
    expect(spanMarkCss('run-trace', new Map())).toBe('');
  });

  it('counts passed specs and failed assertions', () => {
    expect(resultCounts([spec, { ...spec, passed: true, assertions: [] }])).toEqual({
      specs: 2,
      specsPassed: 1,
      assertionsFailed: 1,
    });
  });
});
