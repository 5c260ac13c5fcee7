import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DENIED_NETWORKS, NetworkPolicy } from './network.js';

// Decisions only: nothing here connects anywhere, and no name is looked up except `localhost`.
const policy = (over: Partial<ConstructorParameters<typeof NetworkPolicy>[0]> = {}) =>
  new NetworkPolicy({
    allow: [],
    deny: DEFAULT_DENIED_NETWORKS,
    allowSelf: false,
    ownPorts: () => [4000, 4318],
    ...over,
  });

/** A non-loopback IPv4 address of this machine, if it has one. */
const LAN = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && !i.internal && i.family === 'IPv4')?.address;

describe('NetworkPolicy', () => {
  it('denies link-local and cloud metadata addresses by default, in every spelling', () => {
    const p = policy();
    for (const a of [
      '169.254.169.254',
      '169.254.0.1',
      'fd00:ec2::254',
      'fe80::1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '0.0.0.0',
    ])
      expect(p.refusal(a, 80), a).toMatch(/is in a denied network/);
    expect(p.refusal('::ffff:a9fe:a9fe', 80)).toContain('169.254.169.254');
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '::1', '2001:db8::1'])
      expect(p.refusal(a, 80), a).toBeNull();
  });

  it('denies the hub’s own ports on loopback unless allowSelf', () => {
    expect(policy().refusal('127.0.0.1', 4000)).toMatch(/this hub's own listener/);
    expect(policy().refusal('127.0.0.5', 4318)).toMatch(/own listener/);
    expect(policy().refusal('::1', 4000)).toMatch(/own listener/);
    expect(policy().refusal('127.0.0.1', 4001)).toBeNull();
    expect(policy({ allowSelf: true }).refusal('127.0.0.1', 4000)).toBeNull();
  });

  it.skipIf(LAN === undefined)(
    'denies the hub’s own ports on this host’s other interface addresses too (a hub listening on 0.0.0.0)',
    () => {
      expect(policy().refusal(LAN!, 4000)).toMatch(/own listener/);
      expect(policy().refusal(LAN!, 4001)).toBeNull();
    },
  );

  it('with an allow list, only those networks (and never a denied one inside them)', () => {
    const p = policy({ allow: ['10.0.0.0/8', '127.0.0.1'], deny: [...DEFAULT_DENIED_NETWORKS, '10.9.0.0/16'] });
    expect(p.refusal('10.1.1.1', 80)).toBeNull();
    expect(p.refusal('127.0.0.1', 80)).toBeNull();
    expect(p.refusal('192.168.0.1', 80)).toMatch(/not in an allowed network/);
    expect(p.refusal('10.9.1.1', 80)).toMatch(/denied network/);
  });

  it('resolve() checks IP literals without a look-up and names after one', async () => {
    const p = policy();
    await expect(p.resolve('169.254.169.254', 80, 'trigger')).rejects.toThrow(
      /trigger refused: 169\.254\.169\.254 is in a denied network/,
    );
    await expect(p.resolve('[fd00:ec2::254]', 80, 'trigger')).rejects.toThrow(/denied network/);
    await expect(p.resolve('127.0.0.1', 8080, 'trigger')).resolves.toBe('127.0.0.1');
    await expect(p.resolve('localhost', 4000, 'trigger')).rejects.toThrow(/localhost → .*own listener/);
  });
});
