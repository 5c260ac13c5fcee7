/**
 * The console's Kubernetes pages end to end: a real hub, audit `EventList` batches posted to its webhook endpoint
 * (`POST /api/v1/k8s/audit/<cluster>` with a pool key, as the API server's webhook backend sends them), and Debian's
 * Chromium driven by playwright-core. Screenshots go to test-artifacts/console/. Skipped, with a message, where
 * /usr/bin/chromium is not installed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createHub, waitFor, type TestHub, type TestPool } from '../../server/test/kit/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `[spyglass tests] ${CHROMIUM} not found: the Kubernetes browser tests are SKIPPED (apt-get install chromium)`,
  );
}

const CLUSTER = 'prod';
const NS = 'shop';

// ---- a Deployment rollout as the API server audits it ---------------------------------------------------------------

interface Audit {
  verb: string;
  resource: string;
  group?: string;
  /** Empty for a create by generateName: the response names the object. */
  name?: string;
  subresource?: string;
  user: string;
  userAgent: string;
  code: number;
  atMs: number;
  response?: unknown;
  request?: unknown;
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

/** One `audit.k8s.io/v1` Event at the RequestResponse level, stage ResponseComplete. */
function auditEvent(a: Audit): Record<string, unknown> {
  const failed = a.code >= 300;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: `/apis/${a.group ?? 'v1'}/namespaces/${NS}/${a.resource}${a.name === undefined ? '' : `/${a.name}`}`,
    verb: a.verb,
    user: { username: a.user, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.7'],
    userAgent: a.userAgent,
    objectRef: {
      resource: a.resource,
      namespace: NS,
      ...(a.name === undefined ? {} : { name: a.name }),
      ...(a.group === undefined ? { apiVersion: 'v1' } : { apiGroup: a.group, apiVersion: 'v1' }),
      ...(a.subresource === undefined ? {} : { subresource: a.subresource }),
    },
    responseStatus: failed
      ? { metadata: {}, status: 'Failure', reason: 'Conflict', code: a.code, message: 'the object has been modified; please apply your changes to the latest version and try again' }
      : { metadata: {}, code: a.code },
    ...(a.request === undefined ? {} : { requestObject: a.request }),
    ...(a.response === undefined ? {} : { responseObject: a.response }),
    requestReceivedTimestamp: rfc3339(a.atMs),
    stageTimestamp: rfc3339(a.atMs + 12),
    annotations: { 'authorization.k8s.io/decision': 'allow' },
  };
}

const DEPLOY_UID = 'a7d1c0de-0000-4000-8000-000000000001';
const RS_UID = 'a7d1c0de-0000-4000-8000-000000000002';

function deployment(replicas: number, rv: string): Record<string, unknown> {
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'web', namespace: NS, uid: DEPLOY_UID, resourceVersion: rv, labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'shop/web:1.4.2' }] } },
    },
  };
}

function replicaSet(rv: string): Record<string, unknown> {
  return {
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    metadata: {
      name: 'web-7c9',
      namespace: NS,
      uid: RS_UID,
      resourceVersion: rv,
      labels: { app: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: DEPLOY_UID, controller: true }],
    },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } },
  };
}

function pod(name: string, uid: string, rv: string, phase: string): Record<string, unknown> {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      generateName: 'web-7c9-',
      namespace: NS,
      uid,
      resourceVersion: rv,
      labels: { app: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7c9', uid: RS_UID, controller: true }],
    },
    spec: { containers: [{ name: 'web', image: 'shop/web:1.4.2' }], nodeName: 'worker-1' },
    status: { phase },
  };
}

/** alice creates the Deployment; the controllers make its ReplicaSet and two Pods; alice scales it; bob's update conflicts. */
function rollout(t0: number): Record<string, unknown> {
  const rsController = 'system:serviceaccount:kube-system:replicaset-controller';
  const items = [
    auditEvent({ verb: 'create', resource: 'deployments', group: 'apps', name: 'web', user: 'alice', userAgent: 'kubectl/v1.30.2 (linux/amd64)', code: 201, atMs: t0, request: deployment(2, ''), response: deployment(2, '1000') }),
    auditEvent({ verb: 'create', resource: 'replicasets', group: 'apps', name: 'web-7c9', user: 'system:serviceaccount:kube-system:deployment-controller', userAgent: 'kube-controller-manager/v1.30.2', code: 201, atMs: t0 + 1000, response: replicaSet('1001') }),
    // Pods by generateName: objectRef has no name, the response has it.
    auditEvent({ verb: 'create', resource: 'pods', user: rsController, userAgent: 'kube-controller-manager/v1.30.2', code: 201, atMs: t0 + 2000, response: pod('web-7c9-a', 'a7d1c0de-0000-4000-8000-00000000000a', '1002', 'Pending') }),
    auditEvent({ verb: 'create', resource: 'pods', user: rsController, userAgent: 'kube-controller-manager/v1.30.2', code: 201, atMs: t0 + 2100, response: pod('web-7c9-b', 'a7d1c0de-0000-4000-8000-00000000000b', '1003', 'Pending') }),
    auditEvent({ verb: 'patch', resource: 'pods', name: 'web-7c9-a', subresource: 'status', user: 'system:node:worker-1', userAgent: 'kubelet/v1.30.2', code: 200, atMs: t0 + 5000, response: pod('web-7c9-a', 'a7d1c0de-0000-4000-8000-00000000000a', '1004', 'Running') }),
    auditEvent({ verb: 'update', resource: 'deployments', group: 'apps', name: 'web', user: 'alice', userAgent: 'kubectl/v1.30.2 (linux/amd64)', code: 200, atMs: t0 + 60_000, request: deployment(3, '1000'), response: deployment(3, '1010') }),
    auditEvent({ verb: 'update', resource: 'deployments', group: 'apps', name: 'web', user: 'bob', userAgent: 'kubectl/v1.29.0 (darwin/arm64)', code: 409, atMs: t0 + 70_000, request: deployment(4, '1000'), response: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409 } }),
  ];
  return { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items };
}

describe.skipIf(!hasChromium)('Kubernetes pages in Chromium against a real hub fed by its audit webhook', () => {
  let hub: TestHub;
  let pool: TestPool;
  let url: string;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let pageErrors: string[] = [];

  const shot = (name: string, p: Page): Promise<Buffer> =>
    p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), animations: 'disabled' });

  async function adminPage(): Promise<Page> {
    const res = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    expect(res.status).toBe(200);
    const [name, value] = res.headers.getSetCookie()[0]!.split(';')[0]!.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    contexts.push(context);
    context.setDefaultTimeout(20_000);
    await context.addCookies([{ name, value, url }]);
    const p = await context.newPage();
    p.on('pageerror', (err) => pageErrors.push(err.message));
    return p;
  }

  /** The waterfall's rows in the page, top to bottom: `label@depth`. */
  const rows = (p: Page): Promise<string[]> =>
    p.getByTestId('span-row').evaluateAll((els) =>
      els
        .map((r) => ({ top: r.getBoundingClientRect().top, r }))
        .sort((a, b) => a.top - b.top)
        .map(({ r }) => `${r.querySelector('.wf-label')?.textContent ?? '?'}@${r.getAttribute('data-depth')}`),
    );

  /** The owner tree as `  Kind ns/name` lines, indented by depth; `*` marks the object whose trace is shown. */
  const ownerTree = (p: Page): Promise<string[]> =>
    p.getByTestId('owner-node').evaluateAll((els) =>
      els.map((li) => {
        const row = li.querySelector('.owner-row')!;
        const kind = row.querySelector('.owner-kind')?.textContent ?? '';
        const name = row.querySelector('.mono')?.textContent ?? '';
        const here = li.getAttribute('data-here') === 'true' ? '*' : '';
        return `${'  '.repeat(Number(li.getAttribute('data-depth')))}${kind} ${name}${here}`;
      }),
    );

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const { buildConsole } = (await import(path.join(ROOT, 'scripts', 'build-web.mjs'))) as {
      buildConsole: () => boolean;
    };
    expect(buildConsole()).toBe(true);
    hub = await createHub({ listen: true, timers: 'default' });
    url = hub.url;
    pool = await hub.createPool('k8s-e2e');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  }, 120_000);

  afterEach(async () => {
    const opened = contexts;
    const errors = pageErrors;
    contexts = [];
    pageErrors = [];
    for (const c of opened) await c.close();
    expect(errors, 'errors in the pages of this test').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  // Runs first, while the hub has heard of no cluster.
  it('says how to connect a cluster while none has reported', async () => {
    const page = await adminPage();
    await page.goto(`${url}/agents`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Kubernetes' }).click();
    await page.waitForURL(/\/kubernetes$/);
    const empty = page.getByTestId('no-clusters');
    await empty.waitFor();
    const text = (await empty.textContent()) ?? '';
    expect(text).toContain(`POST ${url}/api/v1/k8s/audit/<cluster>`);
    expect(text).toContain('docs/kubernetes.md');
    await expect(page.getByTestId('webhook-kubeconfig').textContent()).resolves.toContain(
      `server: ${url}/api/v1/k8s/audit/prod`,
    );
    await shot('kubernetes-empty', page);
  }, 120_000);

  it('traces a Deployment from its audit entries: pods under it, a diff, three modes, Pod → Deployment and back', async () => {
    const t0 = Date.now() - 30 * 60_000;
    const res = await fetch(`${url}/api/v1/k8s/audit/${CLUSTER}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(rollout(t0)),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    await expect(res.json()).resolves.toMatchObject({ accepted: 7, rejected: 0 });
    await waitFor(
      async () => {
        const r = await hub.api<{ items: unknown[] }>('GET', `/api/v1/k8s/objects?cluster=${CLUSTER}&resource=pods`);
        return r.status === 200 && r.body.items.length === 2;
      },
      { what: 'the hub to store the two pods of the audit batch', timeoutMs: 60_000, intervalMs: 200 },
    );

    const page = await adminPage();
    await page.goto(`${url}/kubernetes`);
    const form = page.getByRole('search', { name: 'Choose an object' });
    await form.getByLabel('Cluster').selectOption(CLUSTER);
    await page.waitForURL(/cluster=prod/);
    await form.getByLabel('Kind').selectOption({ label: 'Deployment' });
    await page.waitForURL(/resource=deployments/);
    // Search as you type: the list offers the Deployment; choosing it puts the object in the URL.
    await form.getByLabel('Object').fill('we');
    const option = page.getByTestId('object-option').filter({ hasText: 'shop/web' });
    await option.waitFor();
    await expect(option.textContent()).resolves.toContain('Deployment');
    await option.click();
    await page.waitForURL(/name=web(&|$)/);
    const link = new URL(page.url());
    expect(Object.fromEntries(link.searchParams)).toMatchObject({
      cluster: CLUSTER,
      resource: 'deployments',
      group: 'apps',
      namespace: NS,
      name: 'web',
    });
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe('Deployment shop/web');

    // Tracing: one row per object, owners above what they own; labelled as what they are.
    await expect
      .poll(() => rows(page), { timeout: 20_000 })
      .toEqual(['shop/web@0', 'shop/web-7c9@1', 'shop/web-7c9-a@2', 'shop/web-7c9-b@2']);
    const controls = page.getByTestId('trace-controls');
    await expect(controls.getByRole('radio', { name: 'Tracing' }).getAttribute('aria-checked')).resolves.toBe('true');
    await expect(controls.getByLabel('Owners').locator('option:checked').textContent()).resolves.toBe('Both');
    expect(await page.locator('.wf-axis .wf-name').textContent()).toBe('Object');
    expect(await page.locator('main').textContent()).not.toMatch(/\bService\b|\bOperation\b/);
    await expect(ownerTree(page)).resolves.toEqual([
      'Deployment shop/web*',
      '  ReplicaSet shop/web-7c9',
      '    Pod shop/web-7c9-a',
      '    Pod shop/web-7c9-b',
    ]);
    await expect(page.getByTestId('object-count').textContent()).resolves.toBe('4');
    // The Deployment's row carries its entries as marks; the failed update makes it an error row.
    const deployRow = page.getByTestId('span-row').filter({ hasText: 'shop/web' }).first();
    expect(await deployRow.getByTestId('bar-mark').count()).toBeGreaterThanOrEqual(3);

    // Its details: the audit entries with who, verb, code, user agent, latency; the scale-up as a diff.
    await deployRow.click();
    await page.waitForURL(/span=/);
    const details = page.getByTestId('k8s-details');
    await details.getByRole('heading', { name: 'Deployment shop/web' }).waitFor();
    const conflict = details.getByTestId('entry').filter({ hasText: 'bob update' });
    await expect(conflict.textContent()).resolves.toContain('Conflict');
    const conflictFields = await conflict.locator('dl').textContent();
    expect(conflictFields).toContain('bob');
    expect(conflictFields).toContain('409');
    expect(conflictFields).toContain('kubectl/v1.29.0 (darwin/arm64)');
    expect(conflictFields).toMatch(/Latency\d/);
    await expect(conflict.locator('.tone-text-err').textContent()).resolves.toBe('409');
    const scale = details.getByTestId('diff-line').filter({ hasText: 'spec.replicas' });
    await scale.first().waitFor();
    await expect(scale.first().locator('.diff-old').textContent()).resolves.toContain('2');
    await expect(scale.first().locator('.diff-new').textContent()).resolves.toContain('3');
    await expect(scale.first().getAttribute('data-change')).resolves.toBe('changed');
    await shot('kubernetes', page);

    // Tree: each entry its own row under its object.
    await controls.getByRole('radio', { name: 'Tree' }).click();
    await page.waitForURL(/mode=tree/);
    await expect(page.getByTestId('mode-hint').textContent()).resolves.toContain('its own row');
    await expect
      .poll(async () => (await rows(page)).filter((r) => r.startsWith('bob update')), { timeout: 20_000 })
      .toEqual(['bob update (Conflict)@1']);
    const treeRows = await rows(page);
    expect(treeRows).toContain('shop/web-7c9-a@2');
    expect(treeRows.filter((r) => r.endsWith('@3')).length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('.wf-axis .wf-name').textContent()).toBe('Object / entry');

    // Timeline: every entry directly under the top object.
    await controls.getByRole('radio', { name: 'Timeline' }).click();
    await page.waitForURL(/mode=timeline/);
    await expect
      .poll(async () => new Set((await rows(page)).map((r) => r.split('@')[1])), { timeout: 20_000 })
      .toEqual(new Set(['0', '1']));
    expect((await rows(page)).filter((r) => r.endsWith('@1')).length).toBeGreaterThanOrEqual(7);
    await shot('kubernetes-timeline', page);
    await controls.getByRole('radio', { name: 'Tracing' }).click();
    await page.waitForURL((u) => !u.searchParams.has('mode'));

    // From the Pod up to its Deployment and back down, through the owner tree.
    await page.getByTestId('owner-tree').getByRole('link', { name: 'shop/web-7c9-a' }).click();
    await page.waitForURL(/resource=pods/);
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe('Pod shop/web-7c9-a');
    await expect.poll(() => ownerTree(page), { timeout: 20_000 }).toContain('    Pod shop/web-7c9-a*');
    await page.getByRole('radio', { name: 'Tracing' }).waitFor();
    await page.getByTestId('span-row').filter({ hasText: 'shop/web-7c9-a' }).click();
    const podDetails = page.getByTestId('k8s-details');
    await expect(podDetails.getByTestId('entry').filter({ hasText: 'status' }).first().textContent()).resolves.toContain(
      'kubelet/v1.30.2',
    );
    await podDetails.getByRole('link', { name: 'ReplicaSet shop/web-7c9' }).waitFor();
    await page.getByTestId('owner-tree').getByRole('link', { name: 'shop/web', exact: true }).click();
    await page.waitForURL(/resource=deployments/);
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe('Deployment shop/web');
    await page.goBack();
    await page.waitForURL(/resource=pods/);
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe('Pod shop/web-7c9-a');

    // The Diff tab: the Deployment's versions oldest first, each with its lines.
    await page.goto(link.toString());
    await page.getByRole('tab', { name: 'Diff' }).click();
    await page.waitForURL(/view=diff/);
    const versions = page.getByTestId('version');
    await expect.poll(() => versions.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await expect(versions.first().textContent()).resolves.toContain('created');
    const update = versions.filter({ hasText: 'resourceVersion 1010' });
    await expect(update.textContent()).resolves.toContain('updated');
    const line = update.getByTestId('diff-line').filter({ hasText: 'spec.replicas' });
    await expect(line.locator('.diff-old').textContent()).resolves.toContain('2');
    await expect(line.locator('.diff-new').textContent()).resolves.toContain('3');
    await shot('kubernetes-diff', page);

    // The link is the selection: a fresh page opens the same object, mode and tab.
    const shared = page.url();
    const other = await adminPage();
    await other.goto(shared);
    await expect(other.getByTestId('k8s-title').textContent()).resolves.toBe('Deployment shop/web');
    await expect(other.getByRole('tab', { name: 'Diff' }).getAttribute('aria-selected')).resolves.toBe('true');
  }, 180_000);

  it("shows the hub's answer for an object it does not know and for a name it refuses", async () => {
    const page = await adminPage();
    await page.goto(`${url}/kubernetes?cluster=${CLUSTER}&resource=deployments&namespace=${NS}&name=nope`);
    const alert = page.getByRole('alert').filter({ hasText: 'The hub knows no such object' });
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toContain('NOT_FOUND');
    await page.goto(`${url}/kubernetes?cluster=${CLUSTER}&resource=deployments&namespace=${NS}&name=${encodeURIComponent('a\u0001b')}`);
    const invalid = page.getByRole('alert').filter({ hasText: 'INVALID_INPUT' });
    await invalid.waitFor();
  }, 120_000);

  it('diagnostics: findings, the webhook counters of the cluster', async () => {
    const page = await adminPage();
    await page.goto(`${url}/kubernetes`);
    await page.getByTestId('diagnostics-link').click();
    await page.waitForURL(/\/kubernetes\/diagnostics$/);
    const cluster = page.getByTestId('cluster-diagnostics').filter({ hasText: `Cluster ${CLUSTER}` });
    await cluster.waitFor();
    await expect(cluster.getByTestId('stat-webhook requests').textContent()).resolves.toBe('1');
    await expect(cluster.getByTestId('stat-accepted').textContent()).resolves.toBe('7');
    await page.getByRole('heading', { name: 'Findings' }).waitFor();
    await shot('kubernetes-diagnostics', page);
  }, 120_000);
});
