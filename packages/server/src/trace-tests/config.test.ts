import { describe, expect, it } from 'vitest';
import { testsConfigSchema } from './config.js';

describe('tests config', () => {
  it('the config rejects what is not an address or CIDR block', () => {
    const r = testsConfigSchema.safeParse({
      network: { deny: ['10.0.0.0/33', 'example.com', '::1/129', '10.0.0.0/8'] },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'network.deny.0',
      'network.deny.1',
      'network.deny.2',
    ]);
  });
});
