/**
 * The console's Kubernetes pages end to end: a real hub, audit `EventList` batches posted to its webhook endpoint
 * (`POST /api/v1/k8s/audit/<cluster>` with a pool key, as the API server's webhook backend sends them), and Debian's
 * Chromium driven by playwright-core. Screenshots go to test-artifacts/console/. Skipped, with a message, where
 * /usr/bin/chromium is not installed.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHub, waitFor, type TestHub, type TestPool } from '../../server/test/kit/index.js';
import { RS_NAME, eventList, rollout, type Rollout } from '../../server/test/k8s/audit-rollout.js';
import { PageTracker, buildConsoleOnce, chromiumAvailable, launchChromium, shot } from './browser-kit.js';

const hasChromium = chromiumAvailable('the Kubernetes browser tests');

const CLUSTER = 'prod';
const NS = 'shop';
const RS = `${NS}/${RS_NAME}`;

describe.skipIf(!hasChromium)('Kubernetes pages in Chromium against a real hub fed by its audit webhook', () => {
  let hub: TestHub;
  let pool: TestPool;
  let url: string;
  let browser: Browser;
  const pages = new PageTracker(
    () => browser,
    () => url,
    { viewport: { width: 1440, height: 900 }, timeoutMs: 20_000 },
  );

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
    await buildConsoleOnce();
    hub = await createHub({ listen: true, timers: 'default' });
    url = hub.url;
    pool = await hub.createPool('k8s-e2e');
    browser = await launchChromium();
  }, 120_000);

  afterEach(() => pages.check());

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  // Runs first, while the hub has heard of no cluster.
  it('says how to connect a cluster while none has reported', async () => {
    const page = await pages.adminPage();
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
    // A rollout as the API server audits it (two pods), posted as the webhook backend posts it, 30 minutes ago.
    const r: Rollout = rollout(2, Date.now() - 30 * 60_000);
    const res = await fetch(`${url}/api/v1/k8s/audit/${CLUSTER}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(eventList(r.events)),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await expect(res.json()).resolves.toMatchObject({ accepted: r.events.length - r.skipped, rejected: 0 });
    await waitFor(
      async () => {
        const got = await hub.api<{ items: unknown[] }>('GET', `/api/v1/k8s/objects?cluster=${CLUSTER}&resource=pods`);
        return got.status === 200 && got.body.items.length === 2;
      },
      { what: 'the hub to store the two pods of the audit batch', timeoutMs: 60_000, intervalMs: 200 },
    );
    // The owner tree lists siblings by name.
    const [podA, podB] = [...r.pods].sort() as [string, string];

    const page = await pages.adminPage();
    await page.goto(`${url}/kubernetes`);
    const form = page.getByRole('search', { name: 'Choose an object' });
    await form.getByLabel('Cluster').selectOption(CLUSTER);
    await page.waitForURL(/cluster=prod/);
    await form.getByLabel('Kind').selectOption({ label: 'Deployment' });
    await page.waitForURL(/resource=deployments/);
    // Search as you type: the list offers the Deployment; choosing it puts the object in the URL.
    await form.getByLabel('Object', { exact: true }).fill('we');
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
      // Siblings by their first entry: the pods in the order they were created.
      .toEqual(['web@0', `${RS_NAME}@1`, ...r.pods.map((p) => `${p}@2`)]);
    const controls = page.getByTestId('trace-controls');
    await expect(controls.getByRole('radio', { name: 'Tracing' }).getAttribute('aria-checked')).resolves.toBe('true');
    await expect(controls.getByLabel('Owners').locator('option:checked').textContent()).resolves.toBe('Both');
    expect(await page.locator('.wf-axis .wf-name').textContent()).toBe('Object');
    expect(await page.locator('main').textContent()).not.toMatch(/\bService\b|\bOperation\b/);
    await expect(ownerTree(page)).resolves.toEqual([
      'Deployment web*',
      `  ReplicaSet ${RS_NAME}`,
      `    Pod ${podA}`,
      `    Pod ${podB}`,
    ]);
    await expect(page.getByTestId('object-count').textContent()).resolves.toBe('4');
    // The Deployment's row carries its three audit entries as marks.
    const deployRow = page.locator('[data-testid="span-row"][data-depth="0"]');
    await expect.poll(() => deployRow.getByTestId('bar-mark').count()).toBe(3);

    // Its details: the audit entries with who, verb, code, user agent, latency; the scale-up as a diff.
    await deployRow.click();
    await page.waitForURL(/span=/);
    const details = page.getByTestId('k8s-details');
    await details.getByRole('heading', { name: 'Deployment shop/web' }).waitFor();
    const conflict = details.getByTestId('entry').filter({ hasText: 'deployer update (Conflict)' });
    const conflictFields = (await conflict.locator('dl').textContent()) ?? '';
    expect(conflictFields).toContain('Userdeployer');
    expect(conflictFields).toContain('Impersonated byci-bot');
    expect(conflictFields).toContain('Verbupdate');
    expect(conflictFields).toContain('User agentargocd-application-controller/v2.11.0');
    expect(conflictFields).toMatch(/Latency\d/);
    expect(conflictFields).toContain('the object has been modified');
    await expect(conflict.locator('.tone-text-err').textContent()).resolves.toBe('409');
    const scale = details.getByTestId('entry').filter({ hasText: 'alice patch' });
    const replicas = scale.getByTestId('diff-line').filter({ hasText: 'spec.replicas' });
    await expect(replicas.getAttribute('data-change')).resolves.toBe('changed');
    await expect(replicas.locator('.diff-old').textContent()).resolves.toContain('2');
    await expect(replicas.locator('.diff-new').textContent()).resolves.toContain('3');
    await shot('kubernetes', page);

    // Tree: each entry its own row under its object.
    await controls.getByRole('radio', { name: 'Tree' }).click();
    await page.waitForURL(/mode=tree/);
    await expect(page.getByTestId('mode-hint').textContent()).resolves.toContain('its own row');
    await expect
      .poll(async () => (await rows(page)).filter((row) => row.startsWith('deployer update')), { timeout: 20_000 })
      .toEqual(['deployer update (Conflict)@1']);
    const treeRows = await rows(page);
    expect(treeRows).toContain(`${podA}@2`);
    expect(treeRows).toContain('system:node:worker-1 patch status@3');
    expect(await page.locator('.wf-axis .wf-name').textContent()).toBe('Object / entry');

    // Timeline: every entry directly under the top object.
    await controls.getByRole('radio', { name: 'Timeline' }).click();
    await page.waitForURL(/mode=timeline/);
    await expect
      .poll(async () => new Set((await rows(page)).map((row) => row.split('@')[1])), { timeout: 20_000 })
      .toEqual(new Set(['0', '1']));
    expect((await rows(page)).filter((row) => row.endsWith('@1'))).toHaveLength(r.events.length - r.skipped);
    // An entry of a pod says whose it is, and links there.
    await page.getByTestId('span-row').filter({ hasText: 'bob delete (Not Found)' }).click();
    await expect(page.getByTestId('k8s-details').textContent()).resolves.toContain(`Pod ${NS}/${r.pods[0]}`);
    await shot('kubernetes-timeline', page);
    await controls.getByRole('radio', { name: 'Tracing' }).click();
    await page.waitForURL((u) => !u.searchParams.has('mode'));

    // From a Pod up to its Deployment and back down, through the owner tree.
    await page.getByTestId('owner-tree').getByRole('link', { name: podA, exact: true }).click();
    await page.waitForURL(new RegExp(`resource=pods.*name=${podA}|name=${podA}.*resource=pods`));
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe(`Pod ${NS}/${podA}`);
    await expect.poll(() => ownerTree(page), { timeout: 20_000 }).toContain(`    Pod ${podA}*`);
    await page.locator('[data-testid="span-row"][data-depth="2"]').filter({ hasText: podA }).click();
    const podDetails = page.getByTestId('k8s-details');
    await expect(podDetails.getByTestId('entry').filter({ hasText: 'patch status' }).textContent()).resolves.toContain(
      'kubelet/v1.30.2',
    );
    await podDetails
      .getByRole('link', { name: `ReplicaSet ${RS}` })
      .first()
      .waitFor();
    await page.getByTestId('owner-tree').getByRole('link', { name: 'web', exact: true }).click();
    await page.waitForURL(/resource=deployments/);
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe('Deployment shop/web');
    await page.goBack();
    await page.waitForURL(/resource=pods/);
    await expect(page.getByTestId('k8s-title').textContent()).resolves.toBe(`Pod ${NS}/${podA}`);

    // The Diff tab: the Deployment's versions oldest first, each with its lines.
    await page.goto(link.toString());
    await page.getByRole('tab', { name: 'Diff' }).click();
    await page.waitForURL(/view=diff/);
    const versions = page.getByTestId('version');
    await expect.poll(() => versions.count(), { timeout: 20_000 }).toBe(2);
    await expect(versions.nth(0).locator('.badge').first().textContent()).resolves.toBe('created');
    await expect(versions.nth(1).locator('.badge').first().textContent()).resolves.toBe('updated');
    const line = versions.nth(1).getByTestId('diff-line').filter({ hasText: 'spec.replicas' });
    await expect(line.locator('.diff-old').textContent()).resolves.toContain('2');
    await expect(line.locator('.diff-new').textContent()).resolves.toContain('3');
    await shot('kubernetes-diff', page);

    // The link is the selection: a fresh page opens the same object and tab.
    const shared = page.url();
    const other = await pages.adminPage();
    await other.goto(shared);
    await other.getByTestId('version').first().waitFor();
    await expect(other.getByTestId('k8s-title').textContent()).resolves.toBe('Deployment shop/web');
    await expect(other.getByRole('tab', { name: 'Diff' }).getAttribute('aria-selected')).resolves.toBe('true');
  }, 180_000);

  it("shows the hub's answer for an object it does not know and for a name it refuses", async () => {
    const page = await pages.adminPage();
    await page.goto(`${url}/kubernetes?cluster=${CLUSTER}&resource=deployments&namespace=${NS}&name=nope`);
    const alert = page.getByRole('alert').filter({ hasText: 'The hub knows no such object' });
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toContain('NOT_FOUND');
    await page.goto(
      `${url}/kubernetes?cluster=${CLUSTER}&resource=deployments&namespace=${NS}&name=${encodeURIComponent('a\u0001b')}`,
    );
    const invalid = page.getByRole('alert').filter({ hasText: 'INVALID_INPUT' });
    await invalid.waitFor();
  }, 120_000);

  it('diagnostics: findings, the webhook counters of the cluster', async () => {
    const page = await pages.adminPage();
    await page.goto(`${url}/kubernetes`);
    await page.getByTestId('diagnostics-link').click();
    await page.waitForURL(/\/kubernetes\/diagnostics$/);
    const cluster = page.getByTestId('cluster-diagnostics').filter({ hasText: `Cluster ${CLUSTER}` });
    await cluster.waitFor();
    await expect(cluster.getByTestId('stat-webhook requests').textContent()).resolves.toBe('1');
    const r = rollout(2);
    await expect(cluster.getByTestId('stat-accepted').textContent()).resolves.toBe(String(r.events.length - r.skipped));
    await page.getByRole('heading', { name: 'Findings' }).waitFor();
    await shot('kubernetes-diagnostics', page);
  }, 120_000);
});
