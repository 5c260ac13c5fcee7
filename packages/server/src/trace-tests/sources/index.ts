import { SpyglassError } from '@spyglass/protocol';
import type { DataStoreSpec } from '@spyglass/trace-tests';
import { jaegerSource } from './jaeger.js';
import type { SourceOptions, TraceSource } from './source.js';
import { tempoSource } from './tempo.js';

export { jaegerSource, jaegerTraceToOtlp } from './jaeger.js';
export { tempoSource, tempoResourceSpans } from './tempo.js';
export { mergeSpans } from './source.js';
export type { SourceOptions, TraceSource } from './source.js';

/**
 * The backend a DataStore names, or null for `type: otlp` (the hub receives the spans itself and reads its own
 * store). Throws INVALID_INPUT when the type's block is missing or its endpoint cannot be read.
 */
export function sourceFor(dataStore: DataStoreSpec, options: SourceOptions): TraceSource | null {
  switch (dataStore.type) {
    case 'otlp':
      return null;
    case 'jaeger':
      if (dataStore.jaeger === undefined)
        throw new SpyglassError('INVALID_INPUT', `data store ${dataStore.id}: type jaeger needs jaeger.endpoint`);
      return jaegerSource(dataStore.jaeger, options);
    case 'tempo':
      if (dataStore.tempo === undefined)
        throw new SpyglassError(
          'INVALID_INPUT',
          `data store ${dataStore.id}: type tempo needs tempo.http or tempo.grpc`,
        );
      return tempoSource(dataStore.tempo, options);
  }
}
