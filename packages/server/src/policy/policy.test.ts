import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, testDatabases, type TestHub } from '../../test/kit/index.js';

// Pool policy operations on every database: validation, revisions, audit, the welcome and the push to agents.
describe.each(testDatabases())('pool policy on $dialect', (database) => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('answers the empty policy at revision 0 for a pool that never had one, and 404 for an unknown pool', async () => {
    const pool = await hub.createPool('policy-empty');
    const got = await hub.api('GET', `/api/v1/pools/${pool.name}/policy`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      pool: 'policy-empty',
      revision: 0,
      updatedAt: null,
      updatedBy: null,
      policy: { redaction: { names: [], values: [], defaults: true }, blocklist: [], quotas: {}, capture: {} },
    });
    expect((await hub.api('GET', '/api/v1/pools/no-such-pool/policy')).status).toBe(404);
    expect((await hub.api('PUT', '/api/v1/pools/no-such-pool/policy', {})).status).toBe(404);
  });

  it('stores a policy with a growing revision, by id or name, and audits who changed what', async () => {
    const pool = await hub.createPool('policy-set');
    const body = {
      redaction: { names: ['iban'], values: ['ACME-\\d{4}'] },
      blocklist: ['**/secrets/**'],
      quotas: { cpuBudgetPct: 2, maxLogsPerSecond: 100 },
      capture: { maxDepth: 2, maxStringLength: 64 },
    };
    const first = await hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ pool: pool.name, revision: 1, updatedBy: hub.userIds.admin });
    expect(first.body.policy).toEqual({ ...body, redaction: { ...body.redaction, defaults: true } });
    const second = await hub.api('PUT', `/api/v1/pools/${pool.id}/policy`, { redaction: { defaults: false } });
    expect(second.body.revision).toBe(2);
    const read = await hub.api('GET', `/api/v1/pools/${pool.name}/policy`);
    expect(read.body.revision).toBe(2);
    expect(read.body.policy.redaction.defaults).toBe(false);
    const audit = await hub.api<{ items: { action: string; targetId: string; details: Record<string, unknown> }[] }>(
      'GET',
      '/api/v1/audit?action=pool.policy.set',
    );
    const mine = audit.body.items.filter((e) => e.details.pool === pool.name);
    expect(mine).toHaveLength(2);
    expect(mine.find((e) => e.details.revision === 1)?.details).toMatchObject({
      redactNames: 1,
      redactValues: 1,
      blocklist: 1,
      quotas: { cpuBudgetPct: 2, maxLogsPerSecond: 100 },
    });
  });

  it('refuses catastrophic and invalid patterns and unknown fields with INVALID_INPUT, changing nothing', async () => {
    const pool = await hub.createPool('policy-bad');
    expect((await hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, { blocklist: ['a.ts'] })).status).toBe(200);
    const cases: [unknown, RegExp][] = [
      [
        { redaction: { values: ['(a+)+$'] } },
        /redaction\.values\.0: nested quantifiers can backtrack catastrophically/,
      ],
      [{ redaction: { values: ['ok', '(x|xx)*y'] } }, /redaction\.values\.1: nested quantifiers/],
      [{ redaction: { values: ['(a)\\1'] } }, /back-references are not allowed/],
      [{ redaction: { values: ['(?=a)b'] } }, /lookaround/],
      [{ redaction: { values: ['[a-'] } }, /unbalanced pattern|not a valid regular expression/],
      [{ redaction: { values: ['x'.repeat(501)] } }, /longer than 500/],
      [{ quotas: { cpuBudgetPct: 0 } }, /quotas\.cpuBudgetPct/],
      [{ capture: { maxDepth: 99 } }, /capture\.maxDepth/],
      [{ quotas: { cpu: 1 } }, /quotas.*cpu/],
    ];
    for (const [body, message] of cases) {
      const res = await hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    const read = await hub.api('GET', `/api/v1/pools/${pool.name}/policy`);
    expect(read.body.revision).toBe(1);
    expect(read.body.policy.blocklist).toEqual(['a.ts']);
  });

  it('puts the policy in the welcome and pushes a change to the connected agents of that pool only', async () => {
    const pool = await hub.createPool('policy-push');
    const other = await hub.createPool('policy-other');
    await hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, { redaction: { names: ['iban'] } });
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    const { agent: bystander, welcome: otherWelcome } = await SimAgent.connect(hub.wsUrl, other.key);
    try {
      expect(welcome.policy).toMatchObject({
        pool: pool.name,
        revision: 1,
        policy: { redaction: { names: ['iban'] } },
      });
      expect(otherWelcome.policy).toMatchObject({ pool: other.name, revision: 0 });
      await hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, { blocklist: ['**/vault/*.ts'] });
      const pushed = await agent.next('policy');
      expect(pushed).toMatchObject({ pool: pool.name, revision: 2, policy: { blocklist: ['**/vault/*.ts'] } });
      expect(bystander.frames.some((f) => f.type === 'policy')).toBe(false);
    } finally {
      await agent.close();
      await bystander.close();
    }
  });

  it('is read by every signed-in role and set by admins only', async () => {
    const pool = await hub.createPool('policy-rbac');
    for (const role of ['viewer', 'developer'] as const) {
      expect((await hub.api('GET', `/api/v1/pools/${pool.name}/policy`, undefined, role)).status).toBe(200);
      const refused = await hub.api('PUT', `/api/v1/pools/${pool.name}/policy`, {}, role);
      expect(refused.status).toBe(403);
      expect(JSON.stringify(refused.body)).toMatch(/"FORBIDDEN"/);
    }
  });
});
