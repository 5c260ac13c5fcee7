import type { DialectMigration } from './dialect.js';
import { foundation } from './0001-foundation.js';
import { liveDebugging } from './0002-live-debugging.js';
import { agentHealth } from './0003-agent-health.js';
import { loginFailures } from './0004-login-failures.js';
import { agentThread } from './0005-agent-thread.js';
import { leases } from './0006-leases.js';
import { traces } from './0007-traces.js';
import { traceTests } from './0008-trace-tests.js';
import { k8s } from './0009-k8s.js';
import { assistant } from './0010-assistant.js';
import { auditStream } from './0011-audit-stream.js';
import { agentSessions } from './0012-agent-sessions.js';
import { loginDelays } from './0013-login-delays.js';
import { sso } from './0014-sso.js';
import { poolMemberships } from './0015-pool-memberships.js';
import { poolPolicies } from './0016-pool-policies.js';

/** Every migration, in order. Names are frozen: they are stored in the `spyglass_migration` table. */
export const MIGRATIONS: Record<string, DialectMigration> = {
  '0001-foundation': foundation,
  '0002-live-debugging': liveDebugging,
  '0003-agent-health': agentHealth,
  '0004-login-failures': loginFailures,
  '0005-agent-thread': agentThread,
  '0006-leases': leases,
  '0007-traces': traces,
  '0008-trace-tests': traceTests,
  '0009-k8s': k8s,
  '0010-assistant': assistant,
  '0011-audit-stream': auditStream,
  '0012-agent-sessions': agentSessions,
  '0013-login-delays': loginDelays,
  '0014-sso': sso,
  '0015-pool-memberships': poolMemberships,
  '0016-pool-policies': poolPolicies,
};
