import { assistantModule } from './assistant/module.js';
import { auditStreamModule } from './audit-stream/module.js';
import { coreModule } from './core/module.js';
import { k8sModule } from './k8s/module.js';
import { liveDebuggingModule } from './live/module.js';
import { mcpModule } from './mcp/module.js';
import { otlpModule } from './otlp/module.js';
import type { HubModule } from './platform/module.js';
import { traceTestsModule } from './trace-tests/module.js';
import { tracesModule } from './traces/module.js';

/**
 * The hub's feature modules, in registration order. A new subsystem (traces, trace-based tests, Kubernetes tracing,
 * the assistant) is one folder with a `module.ts` and one line here; its config section joins the hub's config schema.
 */
export const HUB_MODULES: readonly HubModule[] = [
  coreModule,
  liveDebuggingModule,
  tracesModule,
  otlpModule,
  traceTestsModule,
  k8sModule,
  mcpModule,
  assistantModule,
  auditStreamModule,
];
