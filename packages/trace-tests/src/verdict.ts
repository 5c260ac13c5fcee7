import type { TestOutput, TestSpecItem } from './resources/schema.js';
import type { TestTrace } from './model.js';

export interface AssertionSpanResult {
  /** null when the selector matched no span (the assertion ran once, span-less). */
  readonly spanId: string | null;
  readonly observed: string;
  readonly passed: boolean;
  readonly error?: string;
}
export interface AssertionResult {
  readonly assertion: string;
  readonly passed: boolean;
  readonly spans: readonly AssertionSpanResult[];
}
export interface SpecResult {
  readonly index: number;
  readonly selector: string;
  readonly name?: string;
  readonly spanIds: readonly string[];
  readonly passed: boolean;
  readonly assertions: readonly AssertionResult[];
}
export interface OutputResult {
  readonly name: string;
  readonly value: string;
  readonly spanId: string | null;
  readonly error?: string;
}

/** Outputs: each from the FIRST span its selector matches (pre-order). */
export function runOutputs(
  outputs: readonly TestOutput[],
  trace: TestTrace,
  variables: ReadonlyMap<string, string>,
): OutputResult[] {
  void outputs;
  void trace;
  void variables;
  return [];
}

/** Specs: each assertion on each selected span. Call after merging the outputs into `variables`. */
export function runSpecs(
  specs: readonly TestSpecItem[],
  trace: TestTrace,
  variables: ReadonlyMap<string, string>,
): SpecResult[] {
  void specs;
  void trace;
  void variables;
  return [];
}
