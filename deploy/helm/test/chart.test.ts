/**
 * The Helm chart's CI matrix: every ci/*.yaml values file is linted and rendered with the real helm binary, and the
 * rendered objects are checked for what a production cluster expects (probes, resources, non-root, read-only root
 * file system, secrets only in Secrets, the hub config accepted by the hub's own loader). Bad value combinations must
 * be refused by values.schema.json or the templates.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { assistantConfigSchema, type AssistantConfig } from '../../../packages/server/src/assistant/config.js';
import { loadConfig } from '../../../packages/server/src/config/config.js';
import { TestReceiver } from '../../../packages/server/test/audit-stream/receivers.js';
import { createHub, freePort, waitFor } from '../../../packages/server/test/kit/index.js';
import { DEFAULT_WATCHED_RESOURCES, type K8sConfig } from '../../../packages/server/src/k8s/config.js';
import { resolveWatched } from '../../../packages/server/src/k8s/watch/targets.js';
import type { AuditStreamConfig } from '../../../packages/server/src/audit-stream/config.js';
import type { OtlpConfig } from '../../../packages/server/src/otlp/config.js';
import type { TestsConfig } from '../../../packages/server/src/trace-tests/config.js';
import type { TracesConfig } from '../../../packages/server/src/traces/config.js';
// @ts-expect-error plain JavaScript helper without type declarations
import { runHelm } from '../tools/helm.mjs';
// @ts-expect-error plain JavaScript helper without type declarations
import { readmeTable, valuesTable } from '../tools/values-table.mjs';

type K8s = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: any }; [k: string]: any };
type Helm = (args: string[]) => { status: number; stdout: string; stderr: string };
const helm = runHelm as Helm;

const CHART = fileURLToPath(new URL('../spyglass', import.meta.url));
const CI_DIR = path.join(CHART, 'ci');
const CI_FILES = readdirSync(CI_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const AGENTS_PATH = '/api/v1/agents/connect';
const RELEASE = 'sg';
const FULLNAME = 'sg-spyglass';

function render(args: string[]): K8s[] {
  const r = helm(['template', RELEASE, CHART, '--namespace', 'observability', ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8s | null)
    .filter((d): d is K8s => d !== null);
}

function renderCi(file: string, extra: string[] = []): K8s[] {
  return render(['-f', path.join(CI_DIR, file), ...extra]);
}

/** Expects helm to refuse the values and returns its message. */
function refused(args: string[]): string {
  const r = helm(['template', RELEASE, CHART, ...args]);
  expect(r.status, `expected helm to refuse ${args.join(' ')}`).not.toBe(0);
  return r.stderr;
}

const ofKind = (docs: K8s[], kind: string): K8s[] => docs.filter((d) => d.kind === kind);
function one(docs: K8s[], kind: string, name?: string): K8s {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(found, `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0]!;
}
const hubDeployment = (docs: K8s[]): K8s => one(docs, 'Deployment', FULLNAME);
const hubContainer = (docs: K8s[]): any =>
  hubDeployment(docs).spec.template.spec.containers.find((c: any) => c.name === 'hub');
const envOf = (container: any): Record<string, any> =>
  Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e]));

/** The Secret's decoded data (empty when the chart renders none). */
function secretData(docs: K8s[]): Record<string, string> {
  const secret = docs.find((d) => d.kind === 'Secret' && d.metadata.name === FULLNAME);
  if (secret === undefined) return {};
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]),
  );
}

function hubYaml(docs: K8s[]): string {
  return one(docs, 'ConfigMap', FULLNAME).data['hub.yaml'] as string;
}

/**
 * The hub's configuration with the sections of the traces, otlp, tests, k8s and assistant modules, typed by their own
 * schemas.
 */
type HubConfig = ReturnType<typeof loadConfig> & {
  otlp: OtlpConfig;
  traces: TracesConfig;
  tests: TestsConfig;
  k8s: K8sConfig;
  assistant: AssistantConfig;
  auditStream: AuditStreamConfig;
};

/**
 * Loads the rendered hub.yaml and Secret env exactly as the hub process would. `secrets` stands for Secrets the user
 * creates (not rendered by the chart), keyed by "<secret name>/<key>".
 */
function hubConfig(docs: K8s[], secrets: Record<string, string> = {}): HubConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-chart-'));
  const file = path.join(dir, 'hub.yaml');
  writeFileSync(file, hubYaml(docs));
  const secret = secretData(docs);
  const env: Record<string, string> = { SPYGLASS_CONFIG: file };
  const map: Record<string, string> = {
    SPYGLASS_ADMIN_PASSWORD: 'admin-password',
    SPYGLASS_DATABASE_URL: 'database-url',
    SPYGLASS_REDIS_URL: 'redis-url',
  };
  for (const [name, ref] of Object.entries(envOf(hubContainer(docs)))) {
    const key = ref.valueFrom?.secretKeyRef?.key as string | undefined;
    if (key !== undefined && map[name] === key && secret[key] !== undefined) env[name] = secret[key];
    const user = secrets[`${ref.valueFrom?.secretKeyRef?.name as string}/${key}`];
    if (key !== undefined && map[name] === undefined && user !== undefined) env[name] = user;
    if (typeof ref.value === 'string' && name !== 'SPYGLASS_CONFIG') env[name] = ref.value;
  }
  return loadConfig({ env, cwd: dir }) as HubConfig;
}

/** Every pod template (Deployments, StatefulSets) and bare Pod (helm test) in the output. */
function podSpecs(docs: K8s[]): { owner: string; spec: any }[] {
  const out: { owner: string; spec: any }[] = [];
  for (const d of docs) {
    if (d.kind === 'Deployment' || d.kind === 'StatefulSet')
      out.push({ owner: `${d.kind}/${d.metadata.name}`, spec: d.spec.template.spec });
    if (d.kind === 'Pod') out.push({ owner: `Pod/${d.metadata.name}`, spec: d.spec });
  }
  return out;
}

/** Strings in the values files that are secrets and must never reach a ConfigMap. */
const KNOWN_SECRETS = ['p@ss:w/rd with spaces', 's3cret', 'redis-s3cret'];

describe.each(CI_FILES)('chart with ci/%s', (file) => {
  const docs = renderCi(file);

  it('passes helm lint --strict', () => {
    const r = helm(['lint', CHART, '--strict', '-f', path.join(CI_DIR, file)]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders labelled objects with a hub Deployment, Service and ConfigMap', () => {
    expect(docs.length).toBeGreaterThan(4);
    for (const d of docs) {
      expect(d.metadata.labels?.['app.kubernetes.io/instance'], `${d.kind}/${d.metadata.name}`).toBe(RELEASE);
      expect(d.metadata.name.length).toBeLessThanOrEqual(63);
    }
    one(docs, 'Service', FULLNAME);
    const svc = one(docs, 'Service', FULLNAME);
    expect(svc.spec.ports[0].targetPort).toBe('http');
    expect(hubContainer(docs).ports[0]).toEqual({ name: 'http', containerPort: 4000, protocol: 'TCP' });
  });

  it('opens exactly the ports the hub listens on (OTLP ones included), on every interface, in the Service too', () => {
    const config = hubConfig(docs);
    const expected = [{ name: 'http', containerPort: 4000, protocol: 'TCP' }];
    if (config.otlp.httpPort !== 0)
      expected.push({ name: 'otlp-http', containerPort: config.otlp.httpPort, protocol: 'TCP' });
    if (config.otlp.grpcPort !== 0)
      expected.push({ name: 'otlp-grpc', containerPort: config.otlp.grpcPort, protocol: 'TCP' });
    expect(hubContainer(docs).ports).toEqual(expected);
    expect(config.otlp.host).toBe('0.0.0.0');
    const svc = one(docs, 'Service', FULLNAME);
    expect(svc.spec.ports.map((p: any) => p.targetPort)).toEqual(expected.map((p) => p.name));
    for (const p of svc.spec.ports.slice(1))
      expect(p.port).toBe(expected.find((e) => e.name === p.targetPort)!.containerPort);
  });

  it('probes /healthz for liveness and startup and /readyz for readiness', () => {
    const c = hubContainer(docs);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    for (const { owner, spec } of podSpecs(docs)) {
      if (owner.startsWith('Pod/')) continue;
      for (const container of spec.containers) {
        expect(container.readinessProbe, `${owner} ${container.name} readiness`).toBeDefined();
        expect(container.livenessProbe, `${owner} ${container.name} liveness`).toBeDefined();
      }
    }
  });

  it('gives every container resource requests and limits', () => {
    for (const { owner, spec } of podSpecs(docs)) {
      for (const container of spec.containers) {
        expect(container.resources?.requests?.cpu, `${owner} ${container.name}`).toBeDefined();
        expect(container.resources?.requests?.memory, `${owner} ${container.name}`).toBeDefined();
        expect(container.resources?.limits?.memory, `${owner} ${container.name}`).toBeDefined();
      }
    }
  });

  it('runs every container non-root, read-only, unprivileged, with all capabilities dropped', () => {
    // Only the hub's in-cluster Kubernetes watchers need an API token.
    const inCluster = hubConfig(docs).k8s.clusters.some((c) => c.inCluster);
    for (const { owner, spec } of podSpecs(docs)) {
      expect(spec.securityContext?.runAsNonRoot, owner).toBe(true);
      expect(spec.securityContext?.runAsUser ?? 1, owner).not.toBe(0);
      expect(spec.securityContext?.seccompProfile?.type, owner).toBe('RuntimeDefault');
      expect(spec.automountServiceAccountToken, owner).toBe(owner === `Deployment/${FULLNAME}` && inCluster);
      expect(spec.hostNetwork ?? false).toBe(false);
      for (const container of spec.containers) {
        const sc = container.securityContext;
        expect(sc?.readOnlyRootFilesystem, `${owner} ${container.name}`).toBe(true);
        expect(sc?.allowPrivilegeEscalation, `${owner} ${container.name}`).toBe(false);
        expect(sc?.runAsNonRoot, `${owner} ${container.name}`).toBe(true);
        expect(sc?.capabilities?.drop, `${owner} ${container.name}`).toEqual(['ALL']);
        expect(sc?.privileged ?? false).toBe(false);
      }
    }
  });

  it('mounts writable emptyDirs only where the hub writes', () => {
    const spec = hubDeployment(docs).spec.template.spec;
    const sqlite = !('SPYGLASS_DATABASE_URL' in envOf(hubContainer(docs)));
    const emptyDirs = spec.volumes
      .filter((v: any) => v.emptyDir !== undefined)
      .map((v: any) => v.name)
      .sort();
    expect(emptyDirs).toEqual(['tmp']);
    expect(spec.volumes.find((v: any) => v.name === 'tmp').emptyDir.sizeLimit).toBeDefined();
    const mounts = Object.fromEntries(hubContainer(docs).volumeMounts.map((m: any) => [m.mountPath, m]));
    expect(Object.keys(mounts).sort()).toEqual(
      sqlite ? ['/etc/spyglass', '/tmp', '/var/lib/spyglass'] : ['/etc/spyglass', '/tmp'],
    );
    expect(mounts['/etc/spyglass'].readOnly).toBe(true);
    if (sqlite) {
      expect(spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName).toBe(`${FULLNAME}-data`);
      expect(hubDeployment(docs).spec.strategy.type).toBe('Recreate');
    } else {
      expect(hubDeployment(docs).spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
  });

  it('keeps every secret out of ConfigMaps and takes secrets from a Secret, never from literal env', () => {
    const secretValues = [...Object.values(secretData(docs)), ...KNOWN_SECRETS].filter((v) => v.length >= 6);
    for (const cm of ofKind(docs, 'ConfigMap')) {
      const text = JSON.stringify(cm.data ?? {}) + JSON.stringify(cm.binaryData ?? {});
      for (const secret of secretValues) expect(text, `ConfigMap ${cm.metadata.name}`).not.toContain(secret);
      // URL-escaped forms too.
      for (const secret of KNOWN_SECRETS) expect(text).not.toContain(encodeURIComponent(secret));
      // The assistant's budgets (maxTokens, maxTurnTokens) are counts of tokens, not credentials; a single sign-on
      // provider's clientSecretFile and an audit sink's tokenFile are the paths their mounted Secrets are read from.
      const keys = text
        .replace(/\b(maxTokens|maxTurnTokens)\b/g, '')
        .replace(/\\"clientSecretFile\\":\\"\/etc\/spyglass\/sso\/[a-z0-9_-]+\/client-secret\\"/g, '')
        .replace(/\\"tokenFile\\":\\"\/etc\/spyglass\/audit-stream\/[a-z0-9._-]+\/token\\"/g, '');
      expect(keys).not.toMatch(/password|secret|token|api-?key|:\/\/[^"\s/]*:[^"\s/]*@/i);
    }
    for (const { owner, spec } of podSpecs(docs)) {
      for (const container of spec.containers) {
        for (const e of container.env ?? []) {
          if (/PASSWORD|DATABASE_URL|REDIS_URL|SECRET|TOKEN|API_KEY/.test(e.name)) {
            expect(e.valueFrom?.secretKeyRef, `${owner} ${container.name} ${e.name}`).toBeDefined();
          }
        }
      }
    }
    for (const d of docs) {
      if (d.kind === 'Secret') continue;
      const text = JSON.stringify(d);
      for (const secret of secretValues) expect(text, `${d.kind}/${d.metadata.name}`).not.toContain(secret);
    }
  });

  it('writes a hub config file that the hub itself accepts', () => {
    const config = hubConfig(docs);
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(4000);
    expect(config.dataDir).toBe('/var/lib/spyglass');
    expect(config.logPretty).toBe(false);
    expect(envOf(hubContainer(docs)).SPYGLASS_CONFIG.value).toBe('/etc/spyglass/hub.yaml');
  });

  it('keeps the drain within the termination grace period', () => {
    const spec = hubDeployment(docs).spec.template.spec;
    const config = parseYaml(hubYaml(docs)) as { shutdownTimeoutMs: number };
    const sleep = Number(hubContainer(docs).lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownTimeoutMs + sleep * 1000);
  });
});

describe('chart profiles', () => {
  it('default: one pod on SQLite with a kept PVC and a generated admin password', () => {
    const docs = renderCi('default-values.yaml');
    expect(hubDeployment(docs).spec.replicas).toBe(1);
    const pvc = one(docs, 'PersistentVolumeClaim', `${FULLNAME}-data`);
    expect(pvc.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    expect(Object.keys(secretData(docs))).toEqual(['admin-password']);
    expect(secretData(docs)['admin-password']).toMatch(/^[A-Za-z0-9]{24}$/);
    for (const kind of [
      'HorizontalPodAutoscaler',
      'Ingress',
      'NetworkPolicy',
      'StatefulSet',
      'ServiceMonitor',
      'Route',
    ]) {
      expect(ofKind(docs, kind), kind).toHaveLength(0);
    }
    const env = envOf(hubContainer(docs));
    expect(env.SPYGLASS_ADMIN_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: FULLNAME, key: 'admin-password' });
    expect(env.SPYGLASS_DATABASE_URL).toBeUndefined();
    expect(env.SPYGLASS_REDIS_URL).toBeUndefined();
    const config = hubConfig(docs);
    expect(config.databaseUrl).toBe('sqlite:/var/lib/spyglass/spyglass.db');
    expect(config.trustProxy).toBe(false);
    expect(one(docs, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });

  it('external MySQL: the URL is composed with the password escaped, and the hub accepts it', () => {
    const docs = renderCi('external-mysql-values.yaml');
    const url = secretData(docs)['database-url']!;
    expect(url).toMatch(/^mysql:\/\/spyglass:[^@\s]+@mysql\.databases\.svc\.cluster\.local:3306\/spyglass$/);
    expect(decodeURIComponent(new URL(url).password)).toBe('p@ss:w/rd with spaces');
    expect(hubConfig(docs).databaseUrl).toBe(url);
    expect(ofKind(docs, 'PersistentVolumeClaim')).toHaveLength(0);
    expect(ofKind(docs, 'StatefulSet')).toHaveLength(0);
  });

  it('production: HPA instead of a fixed replica count, PostgreSQL and Redis over TLS from the Secret', () => {
    const docs = renderCi('postgres-redis-hpa-values.yaml');
    const hpa = one(docs, 'HorizontalPodAutoscaler', FULLNAME);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: FULLNAME });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 8]);
    expect(hpa.spec.metrics.map((m: any) => m.resource.name)).toEqual(['cpu', 'memory']);
    expect(hubDeployment(docs).spec.replicas).toBeUndefined();
    const env = envOf(hubContainer(docs));
    expect(env.SPYGLASS_DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: FULLNAME, key: 'database-url' });
    expect(env.SPYGLASS_REDIS_URL.valueFrom.secretKeyRef).toEqual({ name: FULLNAME, key: 'redis-url' });
    const secret = secretData(docs);
    expect(secret['redis-url']).toBe('rediss://:redis-s3cret@redis.cache.svc.cluster.local:6379');
    const config = hubConfig(docs);
    expect(config.databaseUrl).toMatch(/^postgres:\/\/.*sslmode=require$/);
    expect(config.redisUrl).toBe(secret['redis-url']);
    expect(config.redisChannelPrefix).toBe('spyglass');
    expect(hubDeployment(docs).spec.template.spec.topologySpreadConstraints).toHaveLength(1);
  });

  it('ingress split: console on / and agents on their path, host and class, with cert-manager TLS', () => {
    const docs = renderCi('ingress-tls-values.yaml');
    const consoleIngress = one(docs, 'Ingress', `${FULLNAME}-console`);
    const agents = one(docs, 'Ingress', `${FULLNAME}-agents`);
    expect(consoleIngress.spec.ingressClassName).toBe('nginx');
    expect(agents.spec.ingressClassName).toBe('nginx-internal');
    const consoleRule = consoleIngress.spec.rules[0];
    expect(consoleRule.host).toBe('spyglass.example.com');
    expect(consoleRule.http.paths).toEqual([
      { path: '/', pathType: 'Prefix', backend: { service: { name: FULLNAME, port: { name: 'http' } } } },
    ]);
    const agentRule = agents.spec.rules[0];
    expect(agentRule.host).toBe('agents.spyglass.internal.example.com');
    expect(agentRule.http.paths).toEqual([
      { path: AGENTS_PATH, pathType: 'Exact', backend: { service: { name: FULLNAME, port: { name: 'http' } } } },
    ]);
    expect(agents.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(consoleIngress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBeUndefined();
    expect(consoleIngress.spec.tls).toEqual([{ hosts: ['spyglass.example.com'], secretName: 'spyglass-tls' }]);
    expect(agents.spec.tls).toEqual([{ hosts: ['agents.spyglass.internal.example.com'], secretName: 'spyglass-tls' }]);
    const cert = one(docs, 'Certificate', 'spyglass-tls');
    expect(cert.spec.secretName).toBe('spyglass-tls');
    expect(cert.spec.dnsNames).toEqual(['spyglass.example.com', 'agents.spyglass.internal.example.com']);
    expect(cert.spec.issuerRef).toEqual({ name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    const config = hubConfig(docs);
    expect(config.publicUrl).toBe('https://spyglass.example.com');
    expect(config.trustProxy).toBe('uniquelocal');
  });

  it('ingress on one host: agents get only their path, and a separate agent TLS Secret gets its own Certificate', () => {
    const docs = renderCi('ingress-tls-values.yaml', [
      '--set',
      'ingress.agents.host=',
      '--set',
      'ingress.agents.tlsSecretName=agents-tls',
    ]);
    const agents = one(docs, 'Ingress', `${FULLNAME}-agents`);
    expect(agents.spec.rules[0].host).toBe('spyglass.example.com');
    expect(agents.spec.rules[0].http.paths.map((p: any) => p.path)).toEqual([AGENTS_PATH]);
    expect(
      ofKind(docs, 'Certificate')
        .map((c) => c.spec.secretName)
        .sort(),
    ).toEqual(['agents-tls', 'spyglass-tls']);
  });

  it('existingSecret: no chart Secret, every reference points at the user Secret', () => {
    const docs = renderCi('existing-secret-values.yaml');
    expect(ofKind(docs, 'Secret')).toHaveLength(0);
    const refs = (hubContainer(docs).env as any[])
      .filter((e) => e.valueFrom?.secretKeyRef)
      .map((e) => e.valueFrom.secretKeyRef);
    expect(refs).toEqual([
      { name: 'spyglass-credentials', key: 'admin-password' },
      { name: 'spyglass-credentials', key: 'database-url' },
      { name: 'spyglass-credentials', key: 'redis-url' },
    ]);
    expect(hubDeployment(docs).spec.replicas).toBe(2);
    expect(hubDeployment(docs).spec.template.metadata.annotations['checksum/secret']).toBeUndefined();
  });

  it('network policy: hub reachable from the ingress controller only, egress to DNS, database and Redis only', () => {
    const docs = renderCi('network-policy-values.yaml');
    const hub = one(docs, 'NetworkPolicy', FULLNAME);
    expect(hub.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('hub');
    expect(hub.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(hub.spec.ingress).toHaveLength(1);
    const from = hub.spec.ingress[0].from;
    expect(from[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'ingress-nginx' });
    expect(
      from.some((p: any) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring'),
    ).toBe(true);
    expect(from.some((p: any) => p.namespaceSelector?.matchLabels?.['spyglass.io/agents'] === 'true')).toBe(true);
    expect(hub.spec.ingress[0].ports).toEqual([
      { port: 'http', protocol: 'TCP' },
      { port: 'otlp-http', protocol: 'TCP' },
      { port: 'otlp-grpc', protocol: 'TCP' },
    ]);
    const egressPorts = hub.spec.egress.map((r: any) => r.ports.map((p: any) => `${p.port}/${p.protocol}`).join(','));
    expect(egressPorts).toEqual(['53/UDP,53/TCP', '5432/TCP', '6379/TCP']);
    expect(hub.spec.egress[1].to[0].podSelector.matchLabels['app.kubernetes.io/component']).toBe('database');
    expect(hub.spec.egress[2].to[0].podSelector.matchLabels['app.kubernetes.io/component']).toBe('redis');
    for (const component of ['database', 'redis']) {
      const np = one(docs, 'NetworkPolicy', `${FULLNAME}-${component}`);
      expect(np.spec.ingress[0].from).toEqual([
        { podSelector: { matchLabels: hubDeployment(docs).spec.selector.matchLabels } },
      ]);
      expect(np.spec.egress).toEqual([]);
    }
    // Bundled database and Redis, wired to the generated passwords.
    const db = one(docs, 'StatefulSet', `${FULLNAME}-postgres`);
    expect(db.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('8Gi');
    one(docs, 'Deployment', `${FULLNAME}-redis`);
    const secret = secretData(docs);
    expect(secret['database-url']).toBe(
      `postgres://spyglass:${secret['database-password']}@${FULLNAME}-postgres:5432/spyglass`,
    );
    expect(secret['redis-url']).toBe(`redis://:${secret['redis-password']}@${FULLNAME}-redis:6379`);
    const sm = one(docs, 'ServiceMonitor', FULLNAME);
    expect(sm.metadata.labels.release).toBe('prometheus');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    expect(hubConfig(docs).databaseUrl).toBe(secret['database-url']);
  });

  it('network policy with external services: egress on their ports, to the peers given', () => {
    const docs = renderCi('postgres-redis-hpa-values.yaml', [
      '--set',
      'networkPolicy.enabled=true',
      '--set',
      'networkPolicy.databaseTo[0].ipBlock.cidr=10.20.0.0/16',
    ]);
    const hub = one(docs, 'NetworkPolicy', FULLNAME);
    expect(hub.spec.egress[1]).toEqual({
      ports: [{ port: 5432, protocol: 'TCP' }],
      to: [{ ipBlock: { cidr: '10.20.0.0/16' } }],
    });
    expect(hub.spec.egress[2]).toEqual({ ports: [{ port: 6379, protocol: 'TCP' }] });
  });

  it('traces by default: OTLP/HTTP 4318 and OTLP/gRPC 4317 on the hub Service, 7 days and 1 GiB of spans on SQLite', () => {
    const docs = renderCi('default-values.yaml');
    const env = envOf(hubContainer(docs));
    expect(env.SPYGLASS_OTLP_HOST.value).toBe('0.0.0.0');
    expect(env.SPYGLASS_OTLP_HTTP_PORT.value).toBe('4318');
    expect(env.SPYGLASS_OTLP_GRPC_PORT.value).toBe('4317');
    const svc = one(docs, 'Service', FULLNAME);
    expect(svc.spec.ports.slice(1)).toEqual([
      { name: 'otlp-http', port: 4318, targetPort: 'otlp-http', protocol: 'TCP' },
      { name: 'otlp-grpc', port: 4317, targetPort: 'otlp-grpc', protocol: 'TCP', appProtocol: 'grpc' },
    ]);
    expect(ofKind(docs, 'Service')).toHaveLength(1);
    const config = hubConfig(docs);
    expect(config.otlp).toMatchObject({ httpPort: 4318, grpcPort: 4317, host: '0.0.0.0' });
    expect(config.traces.retention).toMatchObject({ maxAgeMs: 7 * 24 * 3600 * 1000, maxBytes: 1024 ** 3 });
    // On MySQL/PostgreSQL the hub's own default (10 GiB) holds.
    const external = renderCi('external-mysql-values.yaml');
    expect(envOf(hubContainer(external)).SPYGLASS_TRACES_MAX_BYTES).toBeUndefined();
    expect(hubConfig(external).traces.retention.maxBytes).toBe(10 * 1024 ** 3);
  });

  it('trace-based tests: the hub’s own deny list by default; allow and deny lists and run concurrency from values', () => {
    const config = hubConfig(renderCi('default-values.yaml'));
    expect(config.tests.network.allow).toEqual([]);
    expect(config.tests.network.deny).toContain('169.254.0.0/16');
    expect(config.tests.maxConcurrentRuns).toBe(20);
    const set = hubConfig(
      renderCi('default-values.yaml', [
        '--set-json',
        'tests.network={"allow":["10.0.0.0/8"],"deny":["169.254.0.0/16","10.9.0.0/16"]}',
        '--set',
        'tests.maxConcurrentRuns=5',
      ]),
    );
    expect(set.tests.network).toMatchObject({ allow: ['10.0.0.0/8'], deny: ['169.254.0.0/16', '10.9.0.0/16'] });
    expect(set.tests.maxConcurrentRuns).toBe(5);
  });

  it('traces from outside: an OTLP-only LoadBalancer, an OTLP/HTTP Ingress with TLS, OTLP ports for a Collector', () => {
    const docs = renderCi('otlp-values.yaml');
    const config = hubConfig(docs);
    expect(config.otlp).toMatchObject({ httpPort: 4318, grpcPort: 14317, host: '0.0.0.0' });
    expect(config.traces.retention).toMatchObject({ maxAgeMs: 30 * 24 * 3600 * 1000, maxBytes: 100 * 1024 ** 3 });

    const otlp = one(docs, 'Service', `${FULLNAME}-otlp`);
    expect(otlp.spec.type).toBe('LoadBalancer');
    expect(otlp.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' });
    expect(otlp.spec.selector).toEqual(hubDeployment(docs).spec.selector.matchLabels);
    expect(otlp.spec.ports).toEqual([
      { name: 'otlp-http', port: 4318, targetPort: 'otlp-http', protocol: 'TCP' },
      { name: 'otlp-grpc', port: 14317, targetPort: 'otlp-grpc', protocol: 'TCP', appProtocol: 'grpc' },
    ]);
    // Not a hub Service: the ServiceMonitor (selecting component=hub) does not scrape it twice.
    expect(otlp.metadata.labels['app.kubernetes.io/component']).toBe('otlp');
    expect(one(docs, 'Service', FULLNAME).spec.type).toBe('ClusterIP');

    const ingress = one(docs, 'Ingress', `${FULLNAME}-otlp`);
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('16m');
    expect(ingress.spec.rules).toEqual([
      {
        host: 'otlp.spyglass.example.com',
        http: {
          paths: [
            {
              path: '/v1/traces',
              pathType: 'Exact',
              backend: { service: { name: FULLNAME, port: { name: 'otlp-http' } } },
            },
          ],
        },
      },
    ]);
    expect(ingress.spec.tls).toEqual([{ hosts: ['otlp.spyglass.example.com'], secretName: `${FULLNAME}-otlp-tls` }]);
    expect(ofKind(docs, 'Ingress')).toHaveLength(1);

    const hub = one(docs, 'NetworkPolicy', FULLNAME);
    expect(hub.spec.ingress).toHaveLength(2);
    expect(hub.spec.ingress[1]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'otel-collector' } } }],
      ports: [
        { port: 'otlp-http', protocol: 'TCP' },
        { port: 'otlp-grpc', protocol: 'TCP' },
      ],
    });
  });

  it('OTLP receivers off: no OTLP port anywhere, the hub told 0 (its main port still takes /v1/traces)', () => {
    const docs = renderCi('network-policy-values.yaml', [
      '--set',
      'otlp.http.enabled=false',
      '--set',
      'otlp.grpc.enabled=false',
      '--set',
      'otlp.service.enabled=true',
      '--set',
      'networkPolicy.otlpIngressFrom[0].ipBlock.cidr=10.0.0.0/8',
    ]);
    expect(hubContainer(docs).ports).toEqual([{ name: 'http', containerPort: 4000, protocol: 'TCP' }]);
    expect(
      ofKind(docs, 'Service')
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual([FULLNAME, `${FULLNAME}-postgres`, `${FULLNAME}-redis`]);
    expect(one(docs, 'Service', FULLNAME).spec.ports.map((p: any) => p.name)).toEqual(['http']);
    const hub = one(docs, 'NetworkPolicy', FULLNAME);
    expect(hub.spec.ingress).toHaveLength(1);
    expect(hub.spec.ingress[0].ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    expect(hubConfig(docs).otlp).toMatchObject({ httpPort: 0, grpcPort: 0 });
    // Only one of them off.
    const grpcOnly = render(['--set', 'otlp.http.enabled=false']);
    expect(hubContainer(grpcOnly).ports.map((p: any) => p.name)).toEqual(['http', 'otlp-grpc']);
    expect(hubConfig(grpcOnly).otlp).toMatchObject({ httpPort: 0, grpcPort: 4317 });
  });

  it('cert-manager covers the OTLP host: in the console Certificate when they share a Secret, else its own', () => {
    const otlp = [
      '--set',
      'otlp.ingress.enabled=true',
      '--set',
      'otlp.ingress.host=otlp.spyglass.example.com',
      '--set',
      'otlp.ingress.tls.enabled=true',
    ];
    const own = renderCi('ingress-tls-values.yaml', otlp);
    expect(one(own, 'Certificate', `${FULLNAME}-otlp-tls`).spec.dnsNames).toEqual(['otlp.spyglass.example.com']);
    expect(one(own, 'Certificate', 'spyglass-tls').spec.dnsNames).toEqual([
      'spyglass.example.com',
      'agents.spyglass.internal.example.com',
    ]);
    expect(one(own, 'Ingress', `${FULLNAME}-otlp`).spec.ingressClassName).toBe('nginx');
    const shared = renderCi('ingress-tls-values.yaml', [...otlp, '--set', 'otlp.ingress.tls.secretName=spyglass-tls']);
    expect(ofKind(shared, 'Certificate')).toHaveLength(1);
    expect(one(shared, 'Certificate', 'spyglass-tls').spec.dnsNames).toEqual([
      'spyglass.example.com',
      'agents.spyglass.internal.example.com',
      'otlp.spyglass.example.com',
    ]);
  });

  it("behind an ingress or route the hub trusts X-Forwarded-* from the controller's addresses only", async () => {
    expect(hubConfig(renderCi('openshift-route-values.yaml')).trustProxy).toBe('uniquelocal');
    const cidrs = ['--set-json', 'proxy.trustedCidrs=["10.42.0.0/16","fd00:42::/56"]'];
    expect(hubConfig(renderCi('ingress-tls-values.yaml', cidrs)).trustProxy).toBe('10.42.0.0/16,fd00:42::/56');
    // An explicit config.trustProxy wins; without an ingress or route nothing is trusted.
    expect(hubConfig(renderCi('ingress-tls-values.yaml', ['--set', 'config.trustProxy=2'])).trustProxy).toBe(2);
    expect(hubConfig(renderCi('default-values.yaml', cidrs)).trustProxy).toBe(false);

    // Through a hub with what the chart renders: where sign-ins come from, as the audit log records them. A client
    // that reaches the hub directly (no NetworkPolicy) cannot choose its address; the controller's forwarding counts.
    for (const [values, controller] of [
      [[], '10.1.2.3'],
      [cidrs, '10.42.3.4'],
    ] as const) {
      const trustProxy = hubConfig(renderCi('ingress-tls-values.yaml', [...values])).trustProxy;
      const hub = await createHub({ env: { SPYGLASS_TRUST_PROXY: String(trustProxy) } });
      try {
        const from = async (remoteAddress: string, forwardedFor: string): Promise<string | null> => {
          await hub.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            remoteAddress,
            headers: { 'x-forwarded-for': forwardedFor },
            payload: { email: 'nobody@example.test', password: 'wrong-password' },
          });
          const r = await hub.api<{ items: { ip: string | null }[] }>('GET', '/api/v1/audit?action=auth.login');
          return r.body.items[0]?.ip ?? null;
        };
        expect(await from('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
        expect(await from(controller, '198.51.100.2')).toBe('198.51.100.2');
        if (values.length > 0) expect(await from('10.1.2.3', '198.51.100.3')).toBe('10.1.2.3');
      } finally {
        await hub.close();
      }
    }
  });

  it('OpenShift: console and agent Routes, no fixed UID', () => {
    const docs = renderCi('openshift-route-values.yaml');
    const consoleRoute = one(docs, 'Route', `${FULLNAME}-console`);
    const agents = one(docs, 'Route', `${FULLNAME}-agents`);
    expect(consoleRoute.spec.host).toBe('spyglass.apps.example.com');
    expect(consoleRoute.spec.path).toBeUndefined();
    expect(agents.spec.host).toBe('agents.apps.example.com');
    expect(agents.spec.path).toBe(AGENTS_PATH);
    expect(agents.metadata.annotations['haproxy.router.openshift.io/timeout']).toBe('1h');
    expect(consoleRoute.spec.tls).toEqual({ termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' });
    expect(hubDeployment(docs).spec.template.spec.securityContext.runAsUser).toBeUndefined();
    expect(hubConfig(docs).publicUrl).toBe('https://spyglass.apps.example.com');
  });

  it('bundled MySQL: a StatefulSet on its own volume and the matching URL', () => {
    const docs = render(['--set', 'database.type=mysql', '--set', 'database.bundled=true']);
    const db = one(docs, 'StatefulSet', `${FULLNAME}-mysql`);
    expect(db.spec.template.spec.containers[0].image).toBe('docker.io/library/mysql:8.4');
    const secret = secretData(docs);
    expect(secret['database-url']).toBe(
      `mysql://spyglass:${secret['database-password']}@${FULLNAME}-mysql:3306/spyglass`,
    );
  });
});

describe('Kubernetes object tracing', () => {
  const K8S_CI = 'k8s-watchers-values.yaml';
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
  const clusters = (list: unknown[]): string[] => ['--set-json', `k8s.clusters=${JSON.stringify(list)}`];
  const clusterRole = (docs: K8s[]): K8s => one(docs, 'ClusterRole', `observability-${FULLNAME}-k8s`);
  const rules = (docs: K8s[]): Rule[] => clusterRole(docs).rules as Rule[];

  /** The rules the hub's own resolver says the in-cluster clusters of a config need: get/list/watch per API group. */
  function expectedRules(config: K8sConfig): Rule[] {
    const groups = new Map<string, Set<string>>();
    const add = (group: string, resource: string): void => {
      groups.set(group, (groups.get(group) ?? new Set()).add(resource));
    };
    for (const c of config.clusters.filter((c) => c.inCluster)) {
      for (const r of c.resources) {
        const gvr = resolveWatched(r);
        add(gvr.group, gvr.resource);
      }
      if (c.events) {
        add('', 'events');
        add('events.k8s.io', 'events');
      }
    }
    return [...groups.keys()].sort().map((group) => ({
      apiGroups: [group],
      resources: [...groups.get(group)!].sort(),
      verbs: ['get', 'list', 'watch'],
    }));
  }

  it('renders the k8s section the hub accepts: in-cluster, kubeconfig and webhook-only clusters', () => {
    const config = hubConfig(renderCi(K8S_CI)).k8s;
    expect(config.requireKnownClusters).toBe(true);
    expect(config.retention.maxAgeMs).toBe(14 * 24 * 3600 * 1000);
    expect(config.exclude).toEqual([{ userAgent: '/leader-election' }]);
    expect(config.clusters.map((c) => c.name)).toEqual(['local', 'prod', 'edge']);
    const [local, prod, edge] = config.clusters;
    expect(local).toMatchObject({ inCluster: true, events: true, exclude: [{ namespace: '^kube-system$' }] });
    expect(local!.kubeconfig).toBeUndefined();
    expect(local!.resources).toContainEqual({ group: 'example.com', version: 'v1', resource: 'widgets' });
    expect(prod).toMatchObject({
      inCluster: false,
      kubeconfig: '/etc/spyglass/k8s/prod/kubeconfig',
      context: 'prod-admin',
      events: false,
      redact: [{ resource: '^/configmaps$', name: 'credentials' }],
    });
    expect(edge).toMatchObject({ inCluster: false, events: true });
    expect(edge!.kubeconfig).toBeUndefined();
    // A cluster naming no resources watches the hub's default list, written out so the ClusterRole matches it.
    expect(prod!.resources).toEqual([...DEFAULT_WATCHED_RESOURCES]);

    // Without k8s values: the hub's defaults, no cluster, nothing for watchers.
    const docs = renderCi('default-values.yaml');
    const defaults = hubConfig(docs).k8s;
    expect(defaults.clusters).toEqual([]);
    expect(defaults.exclude).toEqual([{ userAgent: '/leader-election' }, { userAgent: 'local-path-provisioner/' }]);
    expect(defaults).toMatchObject({ queueCapacity: 100_000, maxBodyBytes: 32 * 1024 ** 2, maxEventAgeMs: 3600_000 });
    expect(ofKind(docs, 'ClusterRole')).toHaveLength(0);
    expect(ofKind(docs, 'ClusterRoleBinding')).toHaveLength(0);
    expect(hubDeployment(docs).spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap).toEqual({
      name: FULLNAME,
    });
  });

  it('an in-cluster cluster: a ClusterRole for exactly what it watches (custom resources by group), bound to the pod', () => {
    const docs = renderCi(K8S_CI);
    expect(rules(docs)).toEqual([
      { apiGroups: [''], resources: ['events', 'nodes', 'pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
    ]);
    // The same as what the hub itself resolves from the rendered config (only the in-cluster cluster counts).
    expect(rules(docs)).toEqual(expectedRules(hubConfig(docs).k8s));
    const binding = one(docs, 'ClusterRoleBinding', `observability-${FULLNAME}-k8s`);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: clusterRole(docs).metadata.name,
    });
    const spec = hubDeployment(docs).spec.template.spec;
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: spec.serviceAccountName, namespace: 'observability' },
    ]);
    one(docs, 'ServiceAccount', spec.serviceAccountName);
    expect(spec.automountServiceAccountToken).toBe(true);
    // The ServiceAccount itself still does not hand tokens to other pods.
    expect(one(docs, 'ServiceAccount', spec.serviceAccountName).automountServiceAccountToken).toBe(false);
  });

  it('the default resources get their own API groups, and two releases in two namespaces never share the role', () => {
    const docs = render(clusters([{ name: 'local', inCluster: true }]));
    expect(rules(docs)).toEqual([
      {
        apiGroups: [''],
        resources: ['configmaps', 'events', 'nodes', 'pods', 'services'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['apps'],
        resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'],
        verbs: ['get', 'list', 'watch'],
      },
      { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(rules(docs)).toEqual(expectedRules(hubConfig(docs).k8s));
    const names = (namespace: string): string[] => {
      const r = helm([
        'template',
        RELEASE,
        CHART,
        '--namespace',
        namespace,
        ...clusters([{ name: 'a', inCluster: true }]),
      ]);
      expect(r.status, r.stderr).toBe(0);
      return parseAllDocuments(r.stdout)
        .map((d) => d.toJS() as K8s | null)
        .filter((d): d is K8s => d?.kind === 'ClusterRole' || d?.kind === 'ClusterRoleBinding')
        .map((d) => d.metadata.name);
    };
    expect(names('team-a')).toEqual([`team-a-${FULLNAME}-k8s`, `team-a-${FULLNAME}-k8s`]);
    expect(names('team-b')).toEqual([`team-b-${FULLNAME}-k8s`, `team-b-${FULLNAME}-k8s`]);
    // A long namespace still gives a name within 63 characters, ending in -k8s.
    const long = names('n'.repeat(63))[0]!;
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith('-k8s')).toBe(true);
  });

  it('every resource name the schema accepts maps to the group the hub resolves, and none is secrets', () => {
    const schema = JSON.parse(helmFile('values.schema.json'));
    const names = schema.properties.k8s.properties.clusters.items.properties.resources.items.anyOf[0].enum as string[];
    expect(names.length).toBeGreaterThan(40);
    const docs = render(clusters([{ name: 'all', inCluster: true, resources: names, events: false }]));
    expect(rules(docs)).toEqual(expectedRules(hubConfig(docs).k8s));
    for (const name of names) expect(resolveWatched(name), name).not.toMatchObject({ group: '', resource: 'secrets' });
    const granted = rules(docs).flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`));
    expect(granted).not.toContain('/secrets');
    expect(JSON.stringify(clusterRole(docs))).not.toMatch(/secret/i);
    for (const r of rules(docs)) {
      expect(r.verbs).toEqual(['get', 'list', 'watch']);
      expect(r.resources).not.toContain('*');
    }
  });

  it('grants only the in-cluster clusters’ needs: Events off, several clusters merged, nothing for kubeconfig clusters', () => {
    const noEvents = render(clusters([{ name: 'local', inCluster: true, events: false, resources: ['pods'] }]));
    expect(rules(noEvents)).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    const nothing = render(clusters([{ name: 'local', inCluster: true, events: false, resources: [] }]));
    expect(clusterRole(nothing).rules).toEqual([]);
    expect(hubConfig(nothing).k8s.clusters[0]!.resources).toEqual([]);
    const merged = render(
      clusters([
        { name: 'a', inCluster: true, events: false, resources: ['deploy', 'po'] },
        { name: 'b', inCluster: true, events: false, resources: ['deployments.apps', 'sts', 'svc'] },
        { name: 'c', kubeconfigSecret: { name: 'kc' }, resources: ['nodes', 'jobs'] },
      ]),
    );
    expect(rules(merged)).toEqual([
      { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(rules(merged)).toEqual(expectedRules(hubConfig(merged).k8s));

    // Only kubeconfig clusters: no ClusterRole, no API token in the pod.
    const remote = render(clusters([{ name: 'prod', kubeconfigSecret: { name: 'kc' } }]));
    expect(ofKind(remote, 'ClusterRole')).toHaveLength(0);
    expect(hubDeployment(remote).spec.template.spec.automountServiceAccountToken).toBe(false);
    // rbac.create off: you bind the ServiceAccount; the pod still gets its token.
    const own = render([...clusters([{ name: 'local', inCluster: true }]), '--set', 'k8s.rbac.create=false']);
    expect(ofKind(own, 'ClusterRole')).toHaveLength(0);
    expect(ofKind(own, 'ClusterRoleBinding')).toHaveLength(0);
    expect(hubDeployment(own).spec.template.spec.automountServiceAccountToken).toBe(true);
  });

  it('mounts each kubeconfig Secret read-only where the rendered config points', () => {
    const docs = renderCi(K8S_CI);
    const spec = hubDeployment(docs).spec.template.spec;
    const mount = hubContainer(docs).volumeMounts.find((m: any) => m.name === 'config');
    expect(mount).toEqual({ name: 'config', mountPath: '/etc/spyglass', readOnly: true });
    const sources = spec.volumes.find((v: any) => v.name === 'config').projected.sources;
    expect(sources).toEqual([
      { configMap: { name: FULLNAME } },
      {
        secret: {
          name: 'spyglass-kubeconfig-prod',
          items: [{ key: 'config', path: 'k8s/prod/kubeconfig', mode: 0o440 }],
        },
      },
    ]);
    const prod = hubConfig(docs).k8s.clusters.find((c) => c.name === 'prod')!;
    expect(prod.kubeconfig).toBe(`${mount.mountPath}/${sources[1].secret.items[0].path}`);
    // hub.yaml is still where SPYGLASS_CONFIG says.
    expect(envOf(hubContainer(docs)).SPYGLASS_CONFIG.value).toBe(`${mount.mountPath}/hub.yaml`);

    // The key defaults to "kubeconfig"; without an fsGroup (OpenShift assigns one) the file keeps the default mode.
    const openshift = renderCi(
      'openshift-route-values.yaml',
      clusters([{ name: 'b', kubeconfigSecret: { name: 'kc' } }]),
    );
    expect(
      hubDeployment(openshift).spec.template.spec.volumes.find((v: any) => v.name === 'config').projected.sources[1],
    ).toEqual({ secret: { name: 'kc', items: [{ key: 'kubeconfig', path: 'k8s/b/kubeconfig' }] } });
    expect(hubConfig(openshift).k8s.clusters[0]!.kubeconfig).toBe('/etc/spyglass/k8s/b/kubeconfig');
  });

  it('NetworkPolicy: egress to the API servers on 443 and 6443 when a cluster has watchers, not for webhook-only ones', () => {
    const apiRule = (docs: K8s[]): any =>
      one(docs, 'NetworkPolicy', FULLNAME).spec.egress.find((r: any) =>
        r.ports.some((p: any) => p.port === 443 || p.port === 6443),
      );
    expect(apiRule(renderCi(K8S_CI))).toEqual({
      ports: [
        { port: 443, protocol: 'TCP' },
        { port: 6443, protocol: 'TCP' },
      ],
      to: [
        { ipBlock: { cidr: '10.0.0.1/32' } },
        { ipBlock: { cidr: '172.18.0.2/32' } },
        { ipBlock: { cidr: '203.0.113.10/32' } },
      ],
    });
    // No CIDRs given: any address, on those ports only; other ports from values.
    const anywhere = renderCi('network-policy-values.yaml', [
      ...clusters([{ name: 'prod', kubeconfigSecret: { name: 'kc' } }]),
      '--set-json',
      'networkPolicy.apiServer.ports=[8443]',
    ]);
    const rule = one(anywhere, 'NetworkPolicy', FULLNAME).spec.egress.at(-1);
    expect(rule).toEqual({ ports: [{ port: 8443, protocol: 'TCP' }] });
    // Webhook only (or no cluster): no such rule, the policy as before.
    for (const docs of [
      renderCi('network-policy-values.yaml', clusters([{ name: 'edge' }])),
      renderCi('network-policy-values.yaml'),
    ]) {
      expect(apiRule(docs)).toBeUndefined();
      expect(one(docs, 'NetworkPolicy', FULLNAME).spec.egress).toHaveLength(3);
    }
  });
});

describe('single sign-on', () => {
  it('renders the providers the hub accepts, each client secret mounted from its Secret where the config points', () => {
    const docs = renderCi('sso-values.yaml');
    const config = hubConfig(docs);
    expect(config.sso.localLogin).toBe(false);
    expect(config.sso.breakGlassEmails).toEqual(['admin@example.com']);
    const [keycloak, github] = config.sso.providers;
    expect(keycloak).toMatchObject({
      id: 'keycloak',
      type: 'oidc',
      issuer: 'https://sso.example.com/realms/engineering',
      clientSecretFile: '/etc/spyglass/sso/keycloak/client-secret',
      roleMapping: { '/spyglass-admins': 'admin', '/spyglass-developers': 'developer' },
    });
    expect(github).toMatchObject({
      id: 'github',
      type: 'github',
      clientSecretFile: '/etc/spyglass/sso/github/client-secret',
    });
    expect(JSON.stringify(config.sso)).not.toContain('clientSecretSecret');
    const sources = hubDeployment(docs).spec.template.spec.volumes.find((v: any) => v.name === 'config').projected
      .sources;
    expect(sources).toEqual([
      { configMap: { name: FULLNAME } },
      {
        secret: {
          name: 'spyglass-keycloak',
          items: [{ key: 'client-secret', path: 'sso/keycloak/client-secret', mode: 0o440 }],
        },
      },
      {
        secret: { name: 'spyglass-github', items: [{ key: 'secret', path: 'sso/github/client-secret', mode: 0o440 }] },
      },
    ]);
  });

  it('by default: password sign-in on, no providers, the config volume a plain ConfigMap', () => {
    const docs = renderCi('default-values.yaml');
    expect(hubConfig(docs).sso).toMatchObject({ localLogin: true, providers: [] });
    expect(
      hubDeployment(docs).spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap,
    ).toBeDefined();
  });
});

describe('chat assistant', () => {
  const ASSISTANT_CI = 'assistant-values.yaml';
  const KEY = 'sk-chart-test-4f1c9a7e0b';
  const provider = (baseUrl: string, extra: string[] = []): string[] => [
    '--set',
    'networkPolicy.enabled=true',
    '--set',
    `assistant.provider.baseUrl=${baseUrl}`,
    '--set',
    'assistant.provider.model=qwen3',
    ...extra,
  ];
  const egress = (docs: K8s[]): any[] => one(docs, 'NetworkPolicy', FULLNAME).spec.egress as any[];
  const DNS_RULE_PORTS = [
    { port: 53, protocol: 'UDP' },
    { port: 53, protocol: 'TCP' },
  ];
  /** The port the hub dials for the rendered baseUrl, as Node's URL parser (the one the hub uses) reads it. */
  const dialedPort = (config: HubConfig): number => {
    const url = new URL(config.assistant.provider.baseUrl!);
    return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  };

  it('renders the hub’s own defaults: enabled, not configured, no key, no egress rule', () => {
    const docs = renderCi('default-values.yaml');
    const config = hubConfig(docs);
    // The chart's values.yaml defaults are the hub's defaults, key for key.
    expect(config.assistant).toEqual(assistantConfigSchema.parse({}));
    expect(config.assistant.provider.baseUrl).toBeUndefined();
    expect(envOf(hubContainer(docs)).SPYGLASS_ASSISTANT_API_KEY).toBeUndefined();
    // A policy without a model server: DNS, the bundled database and Redis only.
    expect(egress(renderCi('network-policy-values.yaml')).map((r) => r.ports[0].port)).toEqual([53, 5432, 6379]);
  });

  it('writes provider, toolsets and limits to hub.yaml and takes the API key from the user’s Secret only', () => {
    const docs = renderCi(ASSISTANT_CI);
    const env = envOf(hubContainer(docs));
    expect(env.SPYGLASS_ASSISTANT_API_KEY).toEqual({
      name: 'SPYGLASS_ASSISTANT_API_KEY',
      valueFrom: { secretKeyRef: { name: 'spyglass-assistant', key: 'api-key' } },
    });
    const config = hubConfig(docs, { 'spyglass-assistant/api-key': KEY });
    expect(config.assistant).toEqual({
      ...assistantConfigSchema.parse({}),
      provider: {
        kind: 'openai-compatible',
        baseUrl: 'https://llm-gateway.example.com/v1',
        model: 'gpt-4.1-mini',
        apiKey: KEY,
        headers: { 'OpenAI-Organization': 'org-spyglass' },
        temperature: 0.1,
        maxTokens: 4000,
      },
      toolsets: ['live', 'traces'],
      maxSteps: 6,
      maxTurnTokens: 100_000,
      turnTimeoutMs: 120_000,
      requestTimeoutMs: 45_000,
      approvalTimeoutMs: 300_000,
      maxConcurrentTurns: 8,
      recallFacts: 0,
    });
    // hub.yaml names no key at all: without the Secret's env the hub has none.
    const file = parseYaml(hubYaml(docs)) as { assistant: { provider: Record<string, unknown> } };
    expect(Object.keys(file.assistant.provider).sort()).toEqual([
      'baseUrl',
      'headers',
      'kind',
      'maxTokens',
      'model',
      'temperature',
    ]);
    expect(hubConfig(docs).assistant.provider.apiKey).toBeUndefined();
    for (const cm of ofKind(docs, 'ConfigMap')) expect(JSON.stringify(cm)).not.toMatch(/apiKey|api-key/i);
    // The console Ingress keeps the chat's WebSocket open.
    const annotations = one(docs, 'Ingress', `${FULLNAME}-console`).metadata.annotations;
    expect(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout']).toBe('3600');

    // Another key name; a local server without a key; the assistant off (no key even with a Secret named).
    const other = renderCi(ASSISTANT_CI, ['--set', 'assistant.provider.apiKeySecret.key=openai']);
    expect(envOf(hubContainer(other)).SPYGLASS_ASSISTANT_API_KEY.valueFrom.secretKeyRef).toEqual({
      name: 'spyglass-assistant',
      key: 'openai',
    });
    expect(hubConfig(other, { 'spyglass-assistant/openai': KEY }).assistant.provider.apiKey).toBe(KEY);
    const local = render(provider('http://ollama.ai.svc:11434/v1'));
    expect(envOf(hubContainer(local)).SPYGLASS_ASSISTANT_API_KEY).toBeUndefined();
    expect(hubConfig(local).assistant.provider).toMatchObject({
      baseUrl: 'http://ollama.ai.svc:11434/v1',
      model: 'qwen3',
    });
    const off = renderCi(ASSISTANT_CI, ['--set', 'assistant.enabled=false']);
    expect(envOf(hubContainer(off)).SPYGLASS_ASSISTANT_API_KEY).toBeUndefined();
    expect(hubConfig(off).assistant.enabled).toBe(false);
    expect(egress(off).map((r) => r.ports)).toEqual([DNS_RULE_PORTS]);
  });

  it('NetworkPolicy: egress to the model server on the port of its URL, to the CIDRs given', () => {
    const docs = renderCi(ASSISTANT_CI);
    expect(egress(docs)).toEqual([
      expect.objectContaining({ ports: DNS_RULE_PORTS }),
      { ports: [{ port: 443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '198.51.100.20/32' } }] },
    ]);
    expect(dialedPort(hubConfig(docs))).toBe(443);

    // No CIDRs: any address, on that port only; the port is the URL's, else the scheme's.
    for (const [url, port] of [
      ['http://ollama:11434/v1', 11434],
      ['http://ollama.ai.svc/v1', 80],
      ['https://vllm.example.com:8443/v1', 8443],
      ['https://api.openai.com/v1', 443],
      ['http://[fd00::5]:8000/v1', 8000],
    ] as const) {
      const d = render(provider(url));
      expect(egress(d).at(-1), url).toEqual({ ports: [{ port, protocol: 'TCP' }] });
      expect(dialedPort(hubConfig(d)), url).toBe(port);
    }

    // A model server in the cluster: its pods as peers and their port, besides an address block.
    const pods = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ai' } },
      podSelector: { matchLabels: { app: 'ollama' } },
    };
    const inCluster = render(
      provider('http://ollama.ai.svc/v1', [
        '--set-json',
        `networkPolicy.assistant=${JSON.stringify({ cidrs: ['10.8.0.0/16'], to: [pods], ports: [11434] })}`,
      ]),
    );
    expect(egress(inCluster).at(-1)).toEqual({
      ports: [{ port: 11434, protocol: 'TCP' }],
      to: [{ ipBlock: { cidr: '10.8.0.0/16' } }, pods],
    });

    // Without a baseUrl (or with the assistant off) there is no such rule.
    const none = render(['--set', 'networkPolicy.enabled=true']);
    expect(egress(none).map((r) => r.ports)).toEqual([DNS_RULE_PORTS]);
    const off = render(provider('https://api.openai.com/v1', ['--set', 'assistant.enabled=false']));
    expect(egress(off).map((r) => r.ports)).toEqual([DNS_RULE_PORTS]);
  });
});

describe('audit streaming', () => {
  const AUDIT_CI = 'audit-stream-values.yaml';
  const egress = (docs: K8s[]): any[] => one(docs, 'NetworkPolicy', FULLNAME).spec.egress as any[];
  const configSources = (docs: K8s[]): any[] | undefined =>
    hubDeployment(docs).spec.template.spec.volumes.find((v: any) => v.name === 'config').projected?.sources;

  it('renders the sinks the hub accepts, tokens and CAs mounted from their Secrets where the config points', () => {
    const docs = renderCi(AUDIT_CI);
    const config = hubConfig(docs);
    expect(config.auditStream.intervalMs).toBe(2000);
    expect(config.auditStream.gapSettleMs).toBe(5000);
    const [tls, udp, http, splunk] = config.auditStream.sinks;
    expect(tls).toMatchObject({
      name: 'syslog-tls',
      type: 'syslog',
      protocol: 'tls',
      host: 'syslog.example.com',
      port: 6514,
      facility: 'local4',
      tls: { ca: '/etc/spyglass/audit-stream/syslog-tls/ca.crt', serverName: 'syslog.example.com', insecure: false },
    });
    expect(udp).toMatchObject({
      name: 'syslog-udp',
      protocol: 'udp',
      port: 514,
      filters: { outcomes: ['failure', 'denied'] },
    });
    expect(http).toMatchObject({
      name: 'siem',
      type: 'http',
      url: 'https://siem.example.com/ingest',
      tokenFile: '/etc/spyglass/audit-stream/siem/token',
      batchSize: 200,
      filters: { actions: ['user.', 'pool.*'] },
    });
    expect(http).not.toHaveProperty('token');
    expect(splunk).toMatchObject({
      name: 'splunk',
      type: 'splunk',
      index: 'audit',
      tokenFile: '/etc/spyglass/audit-stream/splunk/token',
      tls: { ca: '/etc/spyglass/audit-stream/splunk/ca.crt' },
    });
    const text = hubYaml(docs);
    expect(text).not.toMatch(/tokenSecret|caSecret|spyglass-siem|spyglass-splunk/);

    expect(configSources(docs)).toEqual([
      { configMap: { name: FULLNAME } },
      {
        secret: {
          name: 'spyglass-siem-ca',
          items: [{ key: 'ca.crt', path: 'audit-stream/syslog-tls/ca.crt', mode: 0o440 }],
        },
      },
      { secret: { name: 'spyglass-siem', items: [{ key: 'bearer', path: 'audit-stream/siem/token', mode: 0o440 }] } },
      {
        secret: { name: 'spyglass-splunk', items: [{ key: 'token', path: 'audit-stream/splunk/token', mode: 0o440 }] },
      },
      {
        secret: {
          name: 'spyglass-siem-ca',
          items: [{ key: 'splunk-ca.pem', path: 'audit-stream/splunk/ca.crt', mode: 0o440 }],
        },
      },
    ]);
    // Every path the config reads is one the volume provides.
    const mounted = new Set(
      configSources(docs)!
        .flatMap((src) => src.secret?.items ?? [])
        .map((item: any) => `/etc/spyglass/${item.path as string}`),
    );
    for (const sink of config.auditStream.sinks) {
      if (sink.type !== 'syslog' && sink.tokenFile !== undefined) expect(mounted).toContain(sink.tokenFile);
      if (sink.tls.ca !== undefined) expect(mounted).toContain(sink.tls.ca);
    }
  });

  it('by default: no sink, the hub’s own defaults, the config volume a plain ConfigMap, no egress rule', () => {
    const docs = renderCi('default-values.yaml');
    expect(hubConfig(docs).auditStream).toEqual({ intervalMs: 1000, gapSettleMs: 5000, sinks: [] });
    expect(configSources(docs)).toBeUndefined();
    expect(egress(renderCi('network-policy-values.yaml')).map((r) => r.ports[0].port)).toEqual([53, 5432, 6379]);
    // A sink without secrets (syslog over TCP) mounts nothing either.
    const plain = render([
      '--set-json',
      'auditStream.sinks=[{"name":"s","type":"syslog","host":"syslog.example.com","port":601}]',
    ]);
    expect(configSources(plain)).toBeUndefined();
    expect(hubConfig(plain).auditStream.sinks[0]).toMatchObject({ name: 's', protocol: 'tcp', port: 601 });
  });

  it('NetworkPolicy: egress on each sink’s port and protocol, to the CIDRs given', () => {
    expect(egress(renderCi(AUDIT_CI)).at(-1)).toEqual({
      ports: [
        { port: 6514, protocol: 'TCP' },
        { port: 514, protocol: 'UDP' },
        { port: 443, protocol: 'TCP' },
        { port: 8088, protocol: 'TCP' },
      ],
      to: [{ ipBlock: { cidr: '198.51.100.0/24' } }],
    });
    // No addresses: any, on the sinks' ports only; the same port twice is one entry; http URLs without a port: 80.
    const sinks = [
      { name: 'a', type: 'http', url: 'http://siem.example.com/in' },
      { name: 'b', type: 'http', url: 'http://other.example.com/in' },
      { name: 'c', type: 'syslog', host: 'syslog.example.com', port: 601 },
    ];
    const docs = render([
      '--set',
      'networkPolicy.enabled=true',
      '--set-json',
      `auditStream.sinks=${JSON.stringify(sinks)}`,
    ]);
    expect(egress(docs).at(-1)).toEqual({
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 601, protocol: 'TCP' },
      ],
    });
  });

  it('refuses a literal token, a duplicate name and a syslog sink without its port', () => {
    const sinks = (list: unknown[]): string[] => ['--set-json', `auditStream.sinks=${JSON.stringify(list)}`];
    expect(refused(sinks([{ name: 'x', type: 'http', url: 'https://siem.example.com', token: 's3cret' }]))).toMatch(
      /token/,
    );
    expect(
      refused(
        sinks([
          { name: 'x', type: 'syslog', host: 'a.example.com', port: 514 },
          { name: 'x', type: 'syslog', host: 'b.example.com', port: 514 },
        ]),
      ),
    ).toMatch(/"x" is given twice/);
    expect(refused(sinks([{ name: 'x', type: 'syslog', host: 'a.example.com' }]))).toMatch(/port/);
    expect(refused(sinks([{ name: 'x', type: 'http', url: 'https://a.example.com', host: 'a' }]))).toMatch(/sinks/);
    expect(refused(sinks([{ name: 'Bad Name', type: 'syslog', host: 'a.example.com', port: 514 }]))).toMatch(/name/);
  });

  it('a hub built from the rendered config sends to the sink with the token of the mounted Secret', async () => {
    const receiver = new TestReceiver(await freePort());
    await receiver.start();
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-chart-audit-'));
    try {
      const sink = {
        name: 'siem',
        type: 'http',
        url: `${receiver.url}/ingest`,
        tokenSecret: { name: 'spyglass-siem', key: 'bearer' },
      };
      const docs = render([
        '--set',
        'auditStream.intervalMs=100',
        '--set-json',
        `auditStream.sinks=[${JSON.stringify(sink)}]`,
      ]);
      // What Kubernetes does: the user's Secret, projected at the item's path under the config mount.
      const secrets: Record<string, string> = { 'spyglass-siem/bearer': 'chart-bearer-9d2f\n' };
      for (const src of configSources(docs) ?? []) {
        for (const item of src.secret?.items ?? []) {
          const file = path.join(dir, item.path as string);
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, secrets[`${src.secret.name as string}/${item.key as string}`]!);
        }
      }
      const file = path.join(dir, 'hub.yaml');
      writeFileSync(file, hubYaml(docs).replaceAll('/etc/spyglass/', `${dir}/`));
      const hub = await createHub({ env: { SPYGLASS_CONFIG: file } });
      try {
        const pool = await hub.api('POST', '/api/v1/pools', { name: 'chart-audit' });
        expect(pool.status).toBe(201);
        const req = await waitFor(
          () =>
            receiver.requests.find((r) =>
              (JSON.parse(r.body) as { events: { action: string }[] }).events.some((e) => e.action === 'pool.create'),
            ),
          { what: 'the pool.create event at the receiver', timeoutMs: 30_000 },
        );
        expect(req.path).toBe('/ingest');
        expect(req.authorization).toBe('Bearer chart-bearer-9d2f');
        const status = await hub.api<{ sinks: { name: string; target: string; failures: number }[] }>(
          'GET',
          '/api/v1/audit/sinks',
        );
        expect(status.body.sinks).toMatchObject([{ name: 'siem', target: `${receiver.url}/ingest`, failures: 0 }]);
      } finally {
        await hub.close();
      }
    } finally {
      await receiver.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('values.schema.json and template checks refuse unsafe values', () => {
  const cases: { name: string; args: string[]; message: RegExp }[] = [
    {
      name: 'HPA on SQLite',
      args: ['--set', 'autoscaling.enabled=true', '--set', 'redis.enabled=true', '--set', 'redis.bundled=true'],
      message: /database\.type/,
    },
    {
      name: 'HPA without Redis',
      args: [
        '--set',
        'autoscaling.enabled=true',
        '--set',
        'database.type=postgres',
        '--set',
        'database.external.host=pg',
      ],
      message: /redis\.enabled/,
    },
    {
      name: 'HPA on a bundled database',
      args: [
        '--set',
        'autoscaling.enabled=true',
        '--set',
        'database.type=postgres',
        '--set',
        'database.bundled=true',
        '--set',
        'redis.enabled=true',
        '--set',
        'redis.bundled=true',
      ],
      message: /database\.bundled/,
    },
    {
      name: 'several replicas on SQLite',
      args: ['--set', 'replicaCount=2', '--set', 'redis.enabled=true', '--set', 'redis.bundled=true'],
      message: /database\.type/,
    },
    {
      name: 'several replicas without Redis',
      args: ['--set', 'replicaCount=3', '--set', 'database.type=mysql', '--set', 'database.external.host=db'],
      message: /redis\.enabled/,
    },
    { name: 'an unknown database.type', args: ['--set', 'database.type=oracle'], message: /database\.type/ },
    { name: 'a bundled SQLite', args: ['--set', 'database.bundled=true'], message: /database\.type/ },
    { name: 'a bundled Redis that is not enabled', args: ['--set', 'redis.bundled=true'], message: /redis\.enabled/ },
    {
      name: 'an unknown top-level value (typo)',
      args: ['--set', 'replicas=2'],
      message: /Additional property replicas/,
    },
    {
      name: 'an unknown nested value',
      args: ['--set', 'database.externl.host=x'],
      message: /Additional property externl/,
    },
    { name: 'a bad log level', args: ['--set', 'config.logLevel=loud'], message: /logLevel/ },
    { name: 'a short admin password', args: ['--set', 'admin.password=short'], message: /admin\.password/ },
    {
      name: 'a writable root file system',
      args: ['--set', 'securityContext.readOnlyRootFilesystem=false'],
      message: /readOnlyRootFilesystem/,
    },
    {
      name: 'a non-URL database url',
      args: ['--set', 'database.type=postgres', '--set', 'database.external.url=pg.example.com'],
      message: /database\.external\.url/,
    },
    {
      name: 'an Ingress without host',
      args: ['--set', 'ingress.enabled=true', '--set', 'ingress.console.host='],
      message: /ingress\.console\.host/,
    },
    { name: 'a Route without host', args: ['--set', 'route.enabled=true'], message: /route\.host/ },
    { name: 'resources without limits', args: ['--set', 'resources.limits=null'], message: /limits is required/ },
    {
      name: 'an external database without an address',
      args: ['--set', 'database.type=postgres'],
      message: /database\.external/,
    },
    { name: 'Redis without an address', args: ['--set', 'redis.enabled=true'], message: /redis\.external/ },
    {
      name: 'minReplicas above maxReplicas',
      args: ['-f', path.join(CI_DIR, 'postgres-redis-hpa-values.yaml'), '--set', 'autoscaling.minReplicas=9'],
      message: /minReplicas/,
    },
    {
      name: 'cert-manager without an issuer',
      args: ['-f', path.join(CI_DIR, 'ingress-tls-values.yaml'), '--set', 'certManager.issuerRef.name='],
      message: /issuerRef/,
    },
    { name: 'an OTLP port on the hub port', args: ['--set', 'otlp.http.port=4000'], message: /otlp\.http\.port/ },
    {
      name: 'OTLP/HTTP and OTLP/gRPC on one port',
      args: ['--set', 'otlp.grpc.port=4318'],
      message: /otlp\.http\.port and otlp\.grpc\.port must differ/,
    },
    {
      name: 'an OTLP Ingress without host',
      args: ['--set', 'otlp.ingress.enabled=true'],
      message: /otlp\.ingress\.host/,
    },
    {
      name: 'an OTLP Ingress with OTLP/HTTP off',
      args: [
        '--set',
        'otlp.ingress.enabled=true',
        '--set',
        'otlp.ingress.host=o.example.com',
        '--set',
        'otlp.http.enabled=false',
      ],
      message: /otlp\.http\.enabled/,
    },
    { name: 'an unknown OTLP value', args: ['--set', 'otlp.http.prot=4318'], message: /Additional property prot/ },
    {
      name: 'a span retention under a minute',
      args: ['--set', 'traces.retention.maxAgeMs=1000'],
      message: /maxAgeMs/,
    },
    {
      name: 'a span store under 1 MiB',
      args: ['--set', 'traces.retention.maxBytes=1000'],
      message: /maxBytes/,
    },
    {
      name: 'a grace period shorter than the drain',
      args: ['--set', 'terminationGracePeriodSeconds=10'],
      message: /terminationGracePeriodSeconds/,
    },
    ...(
      [
        ['secrets', 'secrets'],
        ['a Secret by its kind', 'Secret'],
        ['SECRETS', 'SECRETS'],
        ['secrets.', 'secrets.'],
        ['a name the watchers do not know', 'widgets'],
      ] as const
    ).map(([name, resource]) => ({
      name: `a watched resource: ${name}`,
      args: [
        '--set-json',
        `k8s.clusters=[{"name":"a","inCluster":true,"resources":["pods",${JSON.stringify(resource)}]}]`,
      ],
      message: /k8s\.clusters\.0\.resources\.1/,
    })),
    {
      name: 'core secrets as a custom resource',
      args: [
        '--set-json',
        'k8s.clusters=[{"name":"a","inCluster":true,"resources":[{"group":"","version":"v1","resource":"Secrets"}]}]',
      ],
      message: /k8s\.clusters\.0\.resources\.0/,
    },
    {
      name: 'a cluster name that is not a DNS label',
      args: ['--set-json', 'k8s.clusters=[{"name":"Prod_1","inCluster":true}]'],
      message: /k8s\.clusters\.0\.name/,
    },
    {
      name: 'a cluster without a name',
      args: ['--set-json', 'k8s.clusters=[{"inCluster":true}]'],
      message: /name is required/,
    },
    {
      name: 'a cluster both in-cluster and through a kubeconfig',
      args: ['--set-json', 'k8s.clusters=[{"name":"a","inCluster":true,"kubeconfigSecret":{"name":"kc"}}]'],
      message: /k8s\.clusters\.0\.kubeconfigSecret/,
    },
    {
      name: 'a kubeconfig context without a kubeconfig',
      args: ['--set-json', 'k8s.clusters=[{"name":"a","inCluster":true,"context":"x"}]'],
      message: /dependency on kubeconfigSecret/,
    },
    {
      name: 'a kubeconfig path (only Secrets are mounted)',
      args: ['--set-json', 'k8s.clusters=[{"name":"a","kubeconfig":"/tmp/kc"}]'],
      message: /Additional property kubeconfig/,
    },
    {
      name: 'two clusters of one name',
      args: ['--set-json', 'k8s.clusters=[{"name":"a","inCluster":true},{"name":"a"}]'],
      message: /given twice/,
    },
    {
      name: 'an empty exclusion rule',
      args: ['--set-json', 'k8s.clusters=[{"name":"a","exclude":[{}]}]'],
      message: /k8s\.clusters\.0\.exclude\.0/,
    },
    { name: 'a k8s queue under 1000', args: ['--set', 'k8s.queueCapacity=10'], message: /queueCapacity/ },
    {
      name: 'an API server address that is not a CIDR',
      args: ['--set-json', 'networkPolicy.apiServer.cidrs=["kubernetes.default"]'],
      message: /apiServer\.cidrs/,
    },
    {
      name: 'no API server port',
      args: ['--set-json', 'networkPolicy.apiServer.ports=[]'],
      message: /apiServer\.ports/,
    },
    {
      name: 'a model server URL that is not http(s)',
      args: ['--set', 'assistant.provider.baseUrl=ftp://models.example.com/v1', '--set', 'assistant.provider.model=m'],
      message: /assistant\.provider\.baseUrl: Does not match pattern '\^\$\|\^https\?:\/\//,
    },
    {
      name: 'a model server address without a scheme',
      args: ['--set', 'assistant.provider.baseUrl=api.openai.com', '--set', 'assistant.provider.model=m'],
      message: /assistant\.provider\.baseUrl/,
    },
    {
      name: 'a model server URL with a password (it would land in the ConfigMap)',
      args: [
        '--set',
        'assistant.provider.baseUrl=https://me:pw@llm.example.com/v1',
        '--set',
        'assistant.provider.model=m',
      ],
      message: /assistant\.provider\.baseUrl: no user or password in the URL/,
    },
    {
      name: 'a model server URL with a query',
      args: [
        '--set',
        'assistant.provider.baseUrl=https://llm.example.com/v1?key=1',
        '--set',
        'assistant.provider.model=m',
      ],
      message: /assistant\.provider\.baseUrl: .* has a query or fragment/,
    },
    {
      name: 'a model server port above 65535',
      args: ['--set', 'assistant.provider.baseUrl=http://llm:70000/v1', '--set', 'assistant.provider.model=m'],
      message: /port 70000 is not between 1 and 65535/,
    },
    {
      name: 'a model server without a model',
      args: ['--set', 'assistant.provider.baseUrl=https://api.openai.com/v1'],
      message: /assistant\.provider\.baseUrl is set \(https:\/\/api\.openai\.com\/v1\): set assistant\.provider\.model/,
    },
    {
      name: 'an API key in values (only a Secret reference is taken)',
      args: ['--set', 'assistant.provider.apiKey=sk-abc'],
      message: /Additional property apiKey/,
    },
    {
      name: 'an Authorization header (headers go to the ConfigMap)',
      args: ['--set-json', 'assistant.provider.headers={"authorization":"Bearer-abc"}'],
      message: /assistant\.provider\.headers: authorization is a credential.*apiKeySecret/,
    },
    {
      name: 'an API key Secret name that is not a Kubernetes name',
      args: ['--set', 'assistant.provider.apiKeySecret.name=My_Secret'],
      message: /assistant\.provider\.apiKeySecret\.name/,
    },
    {
      name: 'no model call per turn',
      args: ['--set', 'assistant.limits.maxSteps=0'],
      message: /assistant\.limits\.maxSteps/,
    },
    {
      name: 'a temperature above 2',
      args: ['--set', 'assistant.provider.temperature=3'],
      message: /assistant\.provider\.temperature/,
    },
    {
      name: 'an unknown assistant limit',
      args: ['--set', 'assistant.limits.maxTurns=3'],
      message: /Additional property maxTurns/,
    },
    {
      name: 'a model server address that is not a CIDR',
      args: ['--set-json', 'networkPolicy.assistant.cidrs=["api.openai.com"]'],
      message: /networkPolicy\.assistant\.cidrs/,
    },
    {
      name: 'a model server port of 0',
      args: ['--set-json', 'networkPolicy.assistant.ports=[0]'],
      message: /networkPolicy\.assistant\.ports/,
    },
  ];

  it.each(cases)('refuses $name', ({ args, message }) => {
    expect(refused(args)).toMatch(message);
  });

  it('accepts the same switches in a safe combination', () => {
    const docs = render([
      '--set',
      'autoscaling.enabled=true',
      '--set',
      'database.type=postgres',
      '--set',
      'database.external.host=pg',
      '--set',
      'redis.enabled=true',
      '--set',
      'redis.bundled=true',
    ]);
    one(docs, 'HorizontalPodAutoscaler');
  });
});

describe('chart README', () => {
  it('lists every value of values.schema.json with its default (node deploy/helm/tools/values-table.mjs --write)', () => {
    // Compared cell by cell, so Prettier's column padding does not matter.
    const cells = (table: string): string =>
      table
        .split('\n')
        .map((row) => row.replace(/\s*\|\s*/g, '|').replace(/\|-+(?=\|)/g, '|-'))
        .join('\n');
    expect(cells((readmeTable as () => { table: string })().table)).toBe(cells((valuesTable as () => string)()));
  });

  it('describes every value: values.yaml has no key the schema lacks, and every schema property has a description', () => {
    const schema = JSON.parse(helmFile('values.schema.json'));
    const values = parseYaml(helmFile('values.yaml'));
    const walk = (node: any, value: any, at: string): void => {
      if (node.properties !== undefined) {
        for (const [k, child] of Object.entries<any>(node.properties)) {
          expect(child.description, `${at}${k} has no description`).toBeTruthy();
          if (value !== null && typeof value === 'object' && !Array.isArray(value)) walk(child, value[k], `${at}${k}.`);
        }
        if (
          node.additionalProperties === false &&
          value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value)
        ) {
          for (const k of Object.keys(value))
            expect(node.properties, `${at}${k} is in values.yaml but not in the schema`).toHaveProperty(k);
        }
      }
    };
    walk(schema, values, '');
  });
});

function helmFile(name: string): string {
  return readFileSync(path.join(CHART, name), 'utf8');
}
