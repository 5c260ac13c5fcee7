import { describe, expect, it } from 'vitest';
import { chooseService, matchServices, normalisePath, pathMatches, placeFile, serviceKey } from './paths.js';

describe('path matching', () => {
  it('normalises separators, file URLs and dot segments', () => {
    expect(normalisePath('file:///app/src/a.ts')).toBe('/app/src/a.ts');
    expect(normalisePath('.\\src\\services\\checkout.ts')).toBe('src/services/checkout.ts');
    expect(normalisePath('webpack://shop/./src/a.ts')).toBe('shop/src/a.ts');
  });

  it('matches on segment boundaries only, as the agent does', () => {
    expect(pathMatches('/app/src/services/checkout.ts', 'src/services/checkout.ts')).toBe(true);
    expect(pathMatches('/app/src/services/checkout.ts', 'services/checkout.ts')).toBe(true);
    expect(pathMatches('/app/src/services/mycheckout.ts', 'checkout.ts')).toBe(false);
    expect(pathMatches('/app/src/a.ts', '/src/a.ts')).toBe(false);
  });

  it('sends the longest suffix of the workspace path that the agent has loaded', () => {
    const sources = ['/srv/shop/src/services/checkout.ts', '/srv/shop/src/server.ts', '/srv/shop/dist/server.js'];
    expect(placeFile('src/services/checkout.ts', sources)).toEqual({
      file: 'src/services/checkout.ts',
      matches: ['/srv/shop/src/services/checkout.ts'],
    });
    // The workspace is the repository, the service was deployed from examples/shop.
    expect(placeFile('examples/shop/src/services/checkout.ts', sources)?.file).toBe('shop/src/services/checkout.ts');
    expect(placeFile('examples/other/src/services/checkout.ts', sources)?.file).toBe('src/services/checkout.ts');
    expect(placeFile('src/services/pricing.ts', sources)).toBeNull();
  });

  it('groups agents by pool and service, and keeps a suffix every agent of the service can place', () => {
    const matches = matchServices('examples/shop/src/services/checkout.ts', [
      { agentId: 'a1', pool: 'dev', service: 'shop', sources: ['/work/examples/shop/src/services/checkout.ts'] },
      { agentId: 'a2', pool: 'dev', service: 'shop', sources: ['/app/src/services/checkout.ts'] },
      { agentId: 'a3', pool: 'prod', service: 'shop', sources: ['/app/src/services/checkout.ts'] },
      { agentId: 'a4', pool: 'dev', service: 'users', sources: ['/app/src/users.ts'] },
    ]);
    expect(matches.map((m) => [serviceKey(m), m.file, m.agentIds])).toEqual([
      ['dev/shop', 'src/services/checkout.ts', ['a1', 'a2']],
      ['prod/shop', 'src/services/checkout.ts', ['a3']],
    ]);
  });

  it('asks (null) when several services match and nothing is remembered', () => {
    const matches = matchServices('src/a.ts', [
      { agentId: 'a1', pool: 'dev', service: 'one', sources: ['/x/src/a.ts'] },
      { agentId: 'a2', pool: 'dev', service: 'two', sources: ['/y/src/a.ts'] },
    ]);
    expect(chooseService(matches, undefined)).toBeNull();
    expect(chooseService(matches, 'dev/two')?.service).toBe('two');
    expect(chooseService(matches, 'dev/gone')).toBeNull();
    expect(chooseService(matches.slice(0, 1), 'dev/gone')?.service).toBe('one');
  });
});
