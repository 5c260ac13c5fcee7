/**
 * OpenTelemetry for the shop: a span for every HTTP request it serves (instrumentation-http) and for the checkout's
 * steps (see routes/orders.ts and store/inventory.ts), exported over OTLP/HTTP protobuf. server.ts imports this module
 * first, so the SDK is running before the app's own modules are evaluated.
 *
 * Settings are the standard OpenTelemetry variables, with defaults that fit a local hub:
 * - `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): default `http://127.0.0.1:4318`;
 * - `OTEL_EXPORTER_OTLP_HEADERS` (or `…_TRACES_HEADERS`): default `Authorization=Bearer $SPYGLASS_KEY` when the agent's
 *   pool key is set, since the hub takes the same key for traces;
 * - `OTEL_SERVICE_NAME`: default the service name the agent reports (`SPYGLASS_SERVICE`, else `node-service`), so a
 *   trace and the agent's hits name the same service;
 * - `OTEL_SDK_DISABLED=true` turns all of it off; `OTEL_BSP_SCHEDULE_DELAY` (ms) and the other batch settings apply.
 *
 * An export that fails (no hub, a wrong key) is dropped quietly: the OpenTelemetry diagnostics stay silent unless
 * `OTEL_LOG_LEVEL` is set, and the shop answers as before.
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

const env = process.env;
const set = (name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

/** How long a shutdown may take to send the last spans; a hub that is gone must not hold up the exit. */
const SHUTDOWN_BUDGET_MS = 1000;

let sdk: NodeSDK | null = null;

if (set('OTEL_SDK_DISABLED')?.toLowerCase() !== 'true') {
  const key = set('SPYGLASS_KEY');
  const exporter = new OTLPTraceExporter({
    // Given here only when the environment says nothing: a url or headers passed in code win over the variables.
    ...(set('OTEL_EXPORTER_OTLP_ENDPOINT') === undefined && set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') === undefined
      ? { url: 'http://127.0.0.1:4318/v1/traces' }
      : {}),
    ...(key !== undefined &&
    set('OTEL_EXPORTER_OTLP_HEADERS') === undefined &&
    set('OTEL_EXPORTER_OTLP_TRACES_HEADERS') === undefined
      ? { headers: { Authorization: `Bearer ${key}` } }
      : {}),
  });
  sdk = new NodeSDK({
    serviceName: set('OTEL_SERVICE_NAME') ?? set('SPYGLASS_SERVICE') ?? 'node-service',
    traceExporter: exporter,
    // Traces only: the hub takes no OTLP metrics or logs, and the SDK would otherwise export both by default.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // The agent's own connection to the hub (and its reconnects) is not the shop's work.
        ignoreOutgoingRequestHook: (request) => request.path?.startsWith('/api/v1/agents/connect') === true,
      }),
    ],
  });
  sdk.start();
  // The instrumentation patches `http` when it is loaded through require(); the shop imports `node:http` as an ES
  // module, which does not pass there. Loading it once through require() applies the patch to the one shared module
  // (`http.Server.prototype.emit`), so the server that server.ts creates is traced.
  createRequire(import.meta.url)('node:http');
}

/** Sends the spans still queued (within `SHUTDOWN_BUDGET_MS`) and stops the SDK. Never rejects. */
export async function shutdownTracing(): Promise<void> {
  if (sdk === null) return;
  const stopping = sdk.shutdown().catch(() => undefined);
  sdk = null;
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SHUTDOWN_BUDGET_MS);
    timer.unref();
  });
  await Promise.race([stopping, budget]);
  clearTimeout(timer);
}
