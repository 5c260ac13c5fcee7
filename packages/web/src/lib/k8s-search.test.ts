import { describe, expect, it } from 'vitest';
import {
  fromLocalInput,
  objectPath,
  parseKubernetesSearch,
  searchForObject,
  selectedObject,
  shortPath,
  timeWindow,
  toLocalInput,
  traceQueryOf,
} from './k8s-search';

describe('parseKubernetesSearch', () => {
  it('keeps what is valid and leaves defaults out', () => {
    expect(
      parseKubernetesSearch({
        cluster: 'prod',
        resource: 'deployments',
        group: 'apps',
        namespace: 'shop',
        name: 'web',
        mode: 'tree',
        owners: 'ancestors',
        depth: '2',
        range: '6h',
        view: 'diff',
        span: 'abc',
      }),
    ).toEqual({
      cluster: 'prod',
      resource: 'deployments',
      group: 'apps',
      namespace: 'shop',
      name: 'web',
      mode: 'tree',
      owners: 'ancestors',
      depth: 2,
      range: '6h',
      view: 'diff',
      span: 'abc',
    });
    expect(parseKubernetesSearch({ mode: 'tracing', owners: 'both', depth: 3, range: '24h' })).toEqual({});
  });

  it('drops malformed values', () => {
    expect(
      parseKubernetesSearch({ cluster: '  ', mode: 'grouped', owners: 'siblings', depth: '9', range: '2h', view: 'x' }),
    ).toEqual({});
    expect(parseKubernetesSearch({ depth: '1.5' })).toEqual({});
    expect(parseKubernetesSearch({ depth: 0 })).toEqual({});
  });

  it('takes a custom range only with both ends in order', () => {
    expect(parseKubernetesSearch({ range: 'custom', from: '1000', to: 2000 })).toEqual({
      range: 'custom',
      from: 1000,
      to: 2000,
    });
    expect(parseKubernetesSearch({ range: 'custom', from: '1000' })).toEqual({});
    expect(parseKubernetesSearch({ range: 'custom', from: 3000, to: 2000 })).toEqual({});
    // from/to without range=custom mean nothing.
    expect(parseKubernetesSearch({ from: 1000, to: 2000 })).toEqual({});
  });
});

describe('selectedObject and the trace query', () => {
  it('needs cluster, resource and name', () => {
    expect(selectedObject({ cluster: 'prod', resource: 'pods' })).toBeUndefined();
    expect(selectedObject({ cluster: 'prod', resource: 'nodes', name: 'n1' })).toEqual({
      cluster: 'prod',
      group: '',
      resource: 'nodes',
      namespace: '',
      name: 'n1',
    });
  });

  it('asks for the search time window, mode, owners and depth; the group only when there is one', () => {
    const now = 10 * 24 * 3_600_000;
    const s = { cluster: 'prod', resource: 'pods', namespace: 'shop', name: 'web-1' };
    expect(traceQueryOf(s, selectedObject(s)!, now)).toEqual({
      cluster: 'prod',
      resource: 'pods',
      namespace: 'shop',
      name: 'web-1',
      from: now - 24 * 3_600_000,
      to: now,
      mode: 'tracing',
      owners: 'both',
      depth: 3,
    });
    const d = {
      ...s,
      resource: 'deployments',
      group: 'apps',
      mode: 'timeline' as const,
      owners: 'none' as const,
      depth: 5,
      range: '1h' as const,
    };
    expect(traceQueryOf(d, selectedObject(d)!, now)).toMatchObject({
      group: 'apps',
      from: now - 3_600_000,
      mode: 'timeline',
      owners: 'none',
      depth: 5,
    });
  });

  it('uses a custom range as given', () => {
    expect(timeWindow({ range: 'custom', from: 5, to: 9 }, 100)).toEqual({ from: 5, to: 9 });
    expect(timeWindow({ range: '7d' }, 8 * 86_400_000)).toEqual({ from: 86_400_000, to: 8 * 86_400_000 });
  });
});

describe('searchForObject', () => {
  it('opens another object with the same mode, owners, depth and range, without the old tab and span', () => {
    expect(
      searchForObject(
        {
          cluster: 'prod',
          resource: 'pods',
          namespace: 'shop',
          name: 'web-1',
          mode: 'tree',
          owners: 'ancestors',
          depth: 2,
          range: 'custom',
          from: 1,
          to: 2,
          view: 'diff',
          span: 'abc',
        },
        { cluster: 'prod', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
      ),
    ).toEqual({
      cluster: 'prod',
      group: 'apps',
      resource: 'deployments',
      namespace: 'shop',
      name: 'web',
      mode: 'tree',
      owners: 'ancestors',
      depth: 2,
      range: 'custom',
      from: 1,
      to: 2,
    });
    expect(searchForObject({}, { cluster: 'c', group: '', resource: 'nodes', namespace: '', name: 'n1' })).toEqual({
      cluster: 'c',
      resource: 'nodes',
      name: 'n1',
    });
  });
});

describe('helpers', () => {
  it('names an object by namespace/name', () => {
    expect(objectPath({ namespace: 'shop', name: 'web' })).toBe('shop/web');
    expect(objectPath({ namespace: '', name: 'node-1' })).toBe('node-1');
    expect(shortPath({ namespace: 'shop', name: 'web' }, 'shop')).toBe('web');
    expect(shortPath({ namespace: '', name: 'node-1' }, 'shop')).toBe('node-1');
    expect(shortPath({ namespace: 'other', name: 'web' }, 'shop')).toBe('other/web');
  });

  it('round-trips local date-time inputs to the minute', () => {
    const ms = new Date(2026, 2, 14, 9, 5, 0).getTime();
    expect(toLocalInput(ms)).toBe('2026-03-14T09:05');
    expect(fromLocalInput('2026-03-14T09:05')).toBe(ms);
    expect(fromLocalInput('2026-03-14T09:05:30')).toBe(ms + 30_000);
    expect(fromLocalInput('2026-02-31T09:05')).toBeUndefined();
    expect(fromLocalInput('yesterday')).toBeUndefined();
  });
});
