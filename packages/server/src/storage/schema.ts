import type { Generated } from 'kysely';

/** Table types as the application sees them. Times are epoch ms; booleans are stored as 0/1 integers. */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'developer' | 'viewer';
  password_hash: string;
  disabled: number;
  created_at: number;
  updated_at: number;
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

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  pools: PoolsTable;
  audit_events: AuditEventsTable;
}
