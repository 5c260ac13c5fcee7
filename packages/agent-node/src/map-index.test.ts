import {
  GREATEST_LOWER_BOUND,
  LEAST_UPPER_BOUND,
  TraceMap,
  allGeneratedPositionsFor,
  originalPositionFor,
} from '@jridgewell/trace-mapping';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the tests' support
import { writeBundle } from '../test/support/bundle.mjs';
import { buildIndex, indexGeneratedFor, indexOriginalFor } from './map-index.js';

/** What the agent computed with the decoder's own lookups before maps were indexed (the reference). */
function referenceGenerated(map: TraceMap, sourceIndex: number, line: number, lookahead = 200) {
  const source = map.sources[sourceIndex];
  if (source === undefined || source === null) return undefined;
  for (let l = line; l < line + lookahead; l++) {
    let best: { line: number; column: number } | undefined;
    for (const p of allGeneratedPositionsFor(map, { source, line: l, column: 0, bias: LEAST_UPPER_BOUND })) {
      if (p.line === null || p.column === null) continue;
      if (!best || p.line < best.line || (p.line === best.line && p.column < best.column))
        best = { line: p.line, column: p.column };
    }
    if (best) return { ...best, originalLine: l };
  }
  return undefined;
}

function referenceOriginal(map: TraceMap, line: number, column: number) {
  let p = originalPositionFor(map, { line, column, bias: GREATEST_LOWER_BOUND });
  if (p.source === null) p = originalPositionFor(map, { line, column, bias: LEAST_UPPER_BOUND });
  if (p.source === null || p.line === null) return undefined;
  return { sourceIndex: map.resolvedSources.indexOf(p.source), line: p.line, column: p.column ?? 0 };
}

describe('the source map index', () => {
  it('answers exactly what the decoder answers, on a bundler-written map and on hand-made edge cases', () => {
    const { root } = writeBundle(30, 6) as { root: string };
    try {
      const text = readFileSync(join(root, 'dist', 'app.js.map'), 'utf8');
      const js = readFileSync(join(root, 'dist', 'app.js'), 'utf8').split('\n');
      const edge = JSON.stringify({
        version: 3,
        // A source listed twice, a line with an unmapped segment first, segments out of column order, a gap.
        sources: ['a.ts', 'b.ts', 'a.ts'],
        names: [],
        mappings: 'A,EAAA,ECAC;;ADCA,GAAE,FAAF,ICDA,ACGD;ADFE,ADCF,AEAA;;;;IFEI,FAAA',
      });
      for (const [t, genLines] of [
        [text, js.map((l) => l.length)],
        [edge, [20, 20, 20, 20, 20, 20, 20, 20, 20]],
      ] as const) {
        const map = new TraceMap(t, 'file:///srv/app/dist/app.js.map');
        const ix = buildIndex(t, 'file:///srv/app/dist/app.js.map');
        expect(ix.resolvedSources).toEqual(map.resolvedSources);
        const origLines = (map.sourcesContent ?? []).map((c) => (c ?? '').split('\n').length);
        for (let s = 0; s < map.sources.length; s++) {
          for (let l = 1; l <= Math.max(origLines[s] ?? 0, 12) + 2; l++)
            expect(indexGeneratedFor(ix, s, l, 200), `source ${s} line ${l}`).toEqual(referenceGenerated(map, s, l));
        }
        for (let l = 1; l <= genLines.length + 1; l++) {
          const len = genLines[l - 1] ?? 5;
          for (let c = 0; c <= len + 1; c += len > 200 ? 7 : 1)
            expect(indexOriginalFor(ix, l, c), `${l}:${c}`).toEqual(referenceOriginal(map, l, c));
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
