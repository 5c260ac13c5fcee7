import type { Generated } from 'kysely';

/** Table types as the application sees them. Times are epoch ms; booleans are stored as 0/1 integers. */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  /** The global role; `none` (migration 0015): only the pools of the user's memberships. */
  role: 'admin' | 'developer' | 'viewer' | 'none';
  password_hash: string;
  disabled: number;
  created_at: number;
  updated_at: number;
}

export interface SsoIdentitiesTable {
  provider: string;
  /** The provider's stable id of the account (OIDC `sub`, GitHub's numeric user id). */
  subject: string;
  user_id: string;
  created_at: number;
  last_login_at: number;
}

export interface SsoPendingTable {
  /** SHA-256 of the sign-in's secret (the OAuth `state`, the CLI's one-time code, the device handle). */
  id_hash: string;
  kind: 'login' | 'handoff' | 'device';
  provider: string;
  /** JSON: what finishing the sign-in needs (PKCE verifier, nonce, redirect URI, …). */
  data: string;
  created_at: number;
  expires_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the cookie value; the value itself is never stored. */
  id_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  ip: string | null;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface PoolsTable {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  created_at: number;
  key_rotated_at: number;
}

/** A pool's agent policy (migration 0016): `policy` is the JSON of `poolPolicySchema`. */
export interface PoolPoliciesTable {
  pool_id: string;
  revision: number;
  policy: string;
  updated_at: number;
  updated_by: string | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  actor_type: string;
  actor_id: string | null;
  actor_email: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  status: number | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: string | null;
}

/** Live debugging (migration 0002). `tags`, `spec`, `target_*`, `summary`, `data`, `location` hold JSON text. */
export interface AgentsTable {
  id: string;
  pool_id: string;
  instance_id: string;
  service_name: string;
  service_version: string | null;
  service_environment: string | null;
  tags: string;
  hostname: string;
  pid: number;
  runtime_name: string;
  runtime_version: string;
  agent_version: string;
  address: string | null;
  status: 'connected' | 'disconnected';
  connection_id: string | null;
  replica_id: string | null;
  first_seen_at: number;
  connected_at: number;
  last_seen_at: number;
  disconnected_at: number | null;
  log_hits: Generated<number>;
  snapshot_hits: Generated<number>;
  metric_hits: Generated<number>;
  dropped_hits: Generated<number>;
  /** JSON of the agent's health counters from its last heartbeat (AgentHealth without `at`). */
  health: string | null;
  health_at: number | null;
  /** Worker thread id of the agent (0: main thread). */
  thread_id: Generated<number>;
  /** SHA-256 of the agent's session credential (migration 0012); null for an agent registered before them. */
  session_hash: string | null;
}

export interface AgentTagsTable {
  agent_id: string;
  tag_key: string;
  tag_value: string;
}

export interface ActionsTable {
  id: string;
  pool_id: string;
  kind: 'log' | 'snapshot' | 'metric';
  spec: string;
  target_agent_ids: string | null;
  target_tags: string | null;
  target_service: string | null;
  max_hits: number;
  hit_count: Generated<number>;
  expires_at: number;
  state: 'active' | 'completed' | 'expired';
  created_at: number;
  created_by: string | null;
  ended_at: number | null;
}

export interface ActionAgentsTable {
  action_id: string;
  agent_id: string;
  state: string;
  method: string | null;
  reason: string | null;
  location: string | null;
  at: number;
  hits: Generated<number>;
}

export interface LogHitsTable {
  id: Generated<number>;
  action_id: string;
  agent_id: string;
  at: number;
  level: string;
  message: string;
  trace_id: string | null;
  span_id: string | null;
}

export interface SnapshotHitsTable {
  id: Generated<number>;
  action_id: string;
  agent_id: string;
  at: number;
  summary: string;
  data: string;
  truncated: number;
  trace_id: string | null;
  span_id: string | null;
}

export interface MetricBucketsTable {
  action_id: string;
  bucket_start: number;
  replica_id: string;
  value_count: number;
  value_sum: number;
  value_min: number | null;
  value_max: number | null;
  histogram: string | null;
  updated_at: number;
}

export interface LoginFailuresTable {
  limit_key: string;
  window_start: number;
  failures: number;
  /** When the key may try again once past its free attempts (migration 0013). */
  next_at: Generated<number>;
}

/** Audit streaming (migration 0011): per sink, the id of the last audit event it acknowledged, and its status. */
export interface AuditStreamCursorsTable {
  sink: string;
  last_id: number;
  sent: number;
  skipped: number;
  failures: number;
  last_success_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  updated_at: number;
}

/** Singleton-job leases (migration 0006): one row per lease name, `expires_at` by the holder's clock. */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** Spans (migration 0007): searched columns plus `data` (JSON of the rest, see traces/span-data.ts). */
export interface SpansTable {
  id: Generated<number>;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  service: string;
  name: string;
  kind: number;
  status: number;
  start_us: number;
  duration_us: number;
  ingested_ms: number;
  pool_id: string | null;
  bytes: number;
  data: string;
}

/** Spans and bytes that arrived per bucket of time (retention bookkeeping). */
export interface SpanBucketsTable {
  bucket_ms: number;
  spans: number;
  bytes: number;
}

export interface SpanOperationsTable {
  service: string;
  name: string;
  kind: number;
  last_seen_ms: number;
}

/** A user's role in one pool (migration 0015); the effective role there is the higher of it and the global role. */
export interface PoolMembershipsTable {
  user_id: string;
  pool_id: string;
  role: 'admin' | 'developer' | 'viewer';
  /** Who keeps it: `manual` (an admin) or the name of the sign-in provider whose claims it was mapped from. */
  source: string;
  created_at: number;
  updated_at: number;
}

export interface Database {
  login_failures: LoginFailuresTable;
  users: UsersTable;
  sessions: SessionsTable;
  sso_identities: SsoIdentitiesTable;
  sso_pending: SsoPendingTable;
  api_tokens: ApiTokensTable;
  pools: PoolsTable;
  pool_policies: PoolPoliciesTable;
  pool_memberships: PoolMembershipsTable;
  audit_events: AuditEventsTable;
  agents: AgentsTable;
  agent_tags: AgentTagsTable;
  actions: ActionsTable;
  action_agents: ActionAgentsTable;
  log_hits: LogHitsTable;
  snapshot_hits: SnapshotHitsTable;
  metric_buckets: MetricBucketsTable;
  leases: LeasesTable;
  audit_stream_cursors: AuditStreamCursorsTable;
  spans: SpansTable;
  span_buckets: SpanBucketsTable;
  span_operations: SpanOperationsTable;
  test_resources: TestResourcesTable;
  test_resource_versions: TestResourceVersionsTable;
  test_runs: TestRunsTable;
  test_run_traces: TestRunTracesTable;
  test_suite_runs: TestSuiteRunsTable;
  k8s_objects: K8sObjectsTable;
  k8s_owner_links: K8sOwnerLinksTable;
  k8s_entries: K8sEntriesTable;
  k8s_object_state: K8sObjectStateTable;
  k8s_checkpoints: K8sCheckpointsTable;
  assistant_sessions: AssistantSessionsTable;
  assistant_messages: AssistantMessagesTable;
  assistant_facts: AssistantFactsTable;
}

/** Kubernetes objects (migration 0009); `id` is a hash of the key; `labels` and `owners` are JSON. */
export interface K8sObjectsTable {
  id: string;
  cluster: string;
  api_group: string;
  resource: string;
  namespace: string;
  name: string;
  kind: string;
  uid: string | null;
  labels: string;
  owners: string;
  first_seen_us: number;
  last_seen_us: number;
  deleted: number;
  redacted: number;
}

export interface K8sOwnerLinksTable {
  child_id: string;
  parent_id: string;
}

/** Audit entries, Events and diffs of an object; `entry_key` deduplicates (audit id, event uid and count, version). */
export interface K8sEntriesTable {
  object_id: string;
  entry_key: string;
  type: string;
  start_us: number;
  end_us: number;
  name: string;
  username: string | null;
  verb: string | null;
  code: number | null;
  data: string;
}

export interface K8sObjectStateTable {
  object_id: string;
  resource_version: string;
  body: string;
  updated_us: number;
}

export interface K8sCheckpointsTable {
  cluster: string;
  watch: string;
  resource_version: string;
  updated_ms: number;
}

/** Trace-test resources, latest version (migration 0008); `spec` is the normalised resource as JSON. */
export interface TestResourcesTable {
  type: string;
  id: string;
  name: string;
  version: number;
  spec: string;
  created_at: number;
  updated_at: number;
  updated_by: string | null;
}

export interface TestResourceVersionsTable {
  type: string;
  id: string;
  version: number;
  spec: string;
  created_at: number;
  created_by: string | null;
}

/** Test runs: searched columns plus `data` (JSON of the rest: trigger result, outputs, results, variables…). */
export interface TestRunsTable {
  id: string;
  test_id: string;
  run_number: number;
  test_version: number;
  suite_run_id: string | null;
  state: string;
  trace_id: string;
  passed: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  created_by: string | null;
  data: string;
}

/** A run's trace as it was when its assertions ran (JSON array of spans). */
export interface TestRunTracesTable {
  run_id: string;
  spans: string;
}

export interface TestSuiteRunsTable {
  id: string;
  suite_id: string;
  run_number: number;
  suite_version: number;
  state: string;
  passed: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  created_by: string | null;
  data: string;
}

/** An assistant conversation (migration 0010). */
export interface AssistantSessionsTable {
  id: string;
  user_id: string;
  title: string;
  message_count: number;
  created_at: number;
  updated_at: number;
}

/** One message of a conversation; `tool_calls` is a JSON array on assistant messages that call tools. */
export interface AssistantMessagesTable {
  session_id: string;
  seq: number;
  role: string;
  content: string;
  tool_calls: string | null;
  tool_call_id: string | null;
  name: string | null;
  is_error: number;
  created_at: number;
}

/** A fact the assistant saved for a user; `keywords` are its normalised words, space-separated. */
export interface AssistantFactsTable {
  id: string;
  user_id: string;
  content: string;
  keywords: string;
  created_at: number;
}
