import { z } from 'zod';
import { defineOperation } from './operation.js';
import { poolPolicyRecordSchema, poolPolicySchema } from './policy.js';

const poolParams = z.object({ pool: z.string().min(1).max(64) });

/** Agent policy per pool: redaction, file blocklist, quotas and capture limits pushed to the pool's agents. */
export const policyOperations = {
  getPoolPolicy: defineOperation({
    name: 'live.pools.policy.get',
    summary: "A pool's agent policy (revision 0 and empty rules when none was set); anyone who sees the pool reads it",
    access: 'viewer',
    scope: 'pool',
    method: 'GET',
    path: '/api/v1/pools/:pool/policy',
    tags: ['pools'],
    input: { params: poolParams },
    output: poolPolicyRecordSchema,
  }),
  setPoolPolicy: defineOperation({
    name: 'live.pools.policy.set',
    summary: "Replace a pool's agent policy (admins, and admins of that pool); its connected agents apply it at once",
    description:
      'Redaction value patterns must run in linear time: nested quantifiers such as (a+)+, back-references and ' +
      'lookaround are refused with INVALID_INPUT naming the pattern. Nothing changes when any part is invalid.',
    access: 'admin',
    scope: 'pool',
    audit: 'pool.policy.set',
    method: 'PUT',
    path: '/api/v1/pools/:pool/policy',
    tags: ['pools'],
    input: { params: poolParams, body: poolPolicySchema },
    output: poolPolicyRecordSchema,
  }),
} as const;
