/**
 * Audit entries as a real API server writes them (audit.k8s.io/v1, webhook and log backends) for a Deployment
 * rollout: kubectl creates Deployment shop/web, the deployment controller creates a ReplicaSet, the replicaset
 * controller creates pods by generateName (objectRef without a name), the scheduler binds them (subresource binding,
 * a Status response), kubelets patch their status; then alice scales the Deployment (RequestResponse), a stale update
 * conflicts (409), a delete of a missing pod fails (404), and a read (get) and a RequestReceived stage that must be
 * skipped. Field names, shapes and timestamp formats follow the API server's.
 */
import { randomUUID } from 'node:crypto';

const T0 = Date.parse('2026-12-03T10:00:00Z');

/** RFC 3339 with microseconds, as the API server writes `requestReceivedTimestamp`. */
export const micro = (ms: number, extraUs = 0): string => {
  const iso = new Date(ms).toISOString(); // …sss Z
  return `${iso.slice(0, 23)}${String(extraUs).padStart(3, '0')}Z`;
};
/** RFC 3339 with seconds, as object metadata writes `creationTimestamp`. */
const seconds = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata' | 'Request' | 'RequestResponse';
  auditID: string;
  stage: 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';
  requestURI: string;
  verb: string;
  user: { username: string; uid?: string; groups: string[] };
  impersonatedUser?: { username: string; groups?: string[] };
  sourceIPs: string[];
  userAgent: string;
  objectRef?: Record<string, string>;
  responseStatus: {
    metadata: Record<string, never>;
    code: number;
    status?: string;
    message?: string;
    reason?: string;
    details?: unknown;
  };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations: Record<string, string>;
}

const ALLOW = {
  'authorization.k8s.io/decision': 'allow',
  'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding',
};
const KUBECTL = 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350';
const controllerUA = (sa: string) =>
  `kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/system:serviceaccount:kube-system:${sa}`;

interface Opts {
  atMs: number;
  verb: string;
  user: string;
  userAgent: string;
  uri: string;
  ref: Record<string, string>;
  code: number;
  level?: AuditEvent['level'];
  stage?: AuditEvent['stage'];
  response?: unknown;
  request?: unknown;
  status?: Partial<AuditEvent['responseStatus']>;
  latencyMs?: number;
  impersonate?: string;
}

export function auditEvent(o: Opts): AuditEvent {
  const level = o.level ?? 'RequestResponse';
  const ev: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level,
    auditID: randomUUID(),
    stage: o.stage ?? 'ResponseComplete',
    requestURI: o.uri,
    verb: o.verb,
    user: { username: o.user, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.15'],
    userAgent: o.userAgent,
    objectRef: o.ref,
    responseStatus: { metadata: {}, code: o.code, ...o.status },
    requestReceivedTimestamp: micro(o.atMs, 123),
    stageTimestamp: micro(o.atMs + (o.latencyMs ?? 7), 456),
    annotations: ALLOW,
  };
  if (o.impersonate !== undefined) ev.impersonatedUser = { username: o.impersonate, groups: ['system:authenticated'] };
  if (level === 'RequestResponse' || level === 'Request') {
    if (o.request !== undefined) ev.requestObject = o.request;
  }
  if (level === 'RequestResponse' && o.response !== undefined) ev.responseObject = o.response;
  return ev;
}

const managedFields = (manager: string, atMs: number) => [
  {
    manager,
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: seconds(atMs),
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': {} },
  },
];

export function deployment(rv: number, replicas: number, image: string, atMs: number, generation: number) {
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'a1b2c3d4-0000-4000-8000-00000000d001',
      resourceVersion: String(rv),
      generation,
      creationTimestamp: seconds(T0),
      labels: { app: 'web', tier: 'frontend' },
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      managedFields: managedFields('kubectl-client-side-apply', atMs),
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    },
    status: { observedGeneration: generation - 1, replicas: 0 },
  };
}

export const RS_NAME = 'web-7d9f8c6b5';
const RS_UID = 'a1b2c3d4-0000-4000-8000-0000000a5001';

function replicaSet(rv: number, replicas: number, atMs: number) {
  return {
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    metadata: {
      name: RS_NAME,
      namespace: 'shop',
      uid: RS_UID,
      resourceVersion: String(rv),
      generation: 1,
      creationTimestamp: seconds(atMs),
      labels: { app: 'web', 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'web',
          uid: 'a1b2c3d4-0000-4000-8000-00000000d001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: managedFields('kube-controller-manager', atMs),
    },
    spec: { replicas, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d9f8c6b5' } } },
    status: { replicas: 0 },
  };
}

function pod(name: string, rv: number, atMs: number) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      generateName: `${RS_NAME}-`,
      namespace: 'shop',
      uid: `a1b2c3d4-0000-4000-8000-${name.slice(-5).padStart(12, '0')}`,
      resourceVersion: String(rv),
      creationTimestamp: seconds(atMs),
      labels: { app: 'web', 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: RS_NAME,
          uid: RS_UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: managedFields('kube-controller-manager', atMs),
    },
    spec: { containers: [{ name: 'web', image: 'shop/web:1.0' }], nodeName: '' },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
}

export interface Rollout {
  /** Every entry, in the order the API server wrote them. */
  events: AuditEvent[];
  pods: string[];
  /** Entries that must be skipped (a read, an early stage). */
  skipped: number;
  startMs: number;
  endMs: number;
}

/** The rollout's audit entries, with `podCount` pods (names `web-7d9f8c6b5-xxxxx`). */
export function rollout(podCount = 3, startMs = T0): Rollout {
  const events: AuditEvent[] = [];
  let t = startMs;
  let rv = 1000;
  const step = () => (t += 40);
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'create',
      user: 'alice',
      userAgent: KUBECTL,
      uri: '/apis/apps/v1/namespaces/shop/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict',
      ref: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
      code: 201,
      response: deployment(++rv, 2, 'shop/web:1.0', t, 1),
    }),
  );
  // The deployment controller creates the ReplicaSet (the name is in the request).
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'create',
      user: 'system:serviceaccount:kube-system:deployment-controller',
      userAgent: controllerUA('deployment-controller'),
      uri: '/apis/apps/v1/namespaces/shop/replicasets',
      ref: { resource: 'replicasets', namespace: 'shop', name: RS_NAME, apiGroup: 'apps', apiVersion: 'v1' },
      code: 201,
      response: replicaSet(++rv, 2, t),
    }),
  );
  const pods: string[] = [];
  for (let i = 0; i < podCount; i++) {
    const name = `${RS_NAME}-${(0x10000 + i * 7919).toString(36).slice(-5)}`;
    pods.push(name);
    // The replicaset controller creates pods by generateName: objectRef has no name; the response names the pod.
    events.push(
      auditEvent({
        atMs: step(),
        verb: 'create',
        user: 'system:serviceaccount:kube-system:replicaset-controller',
        userAgent: controllerUA('replicaset-controller'),
        uri: '/api/v1/namespaces/shop/pods',
        ref: { resource: 'pods', namespace: 'shop', apiVersion: 'v1' },
        code: 201,
        response: pod(name, ++rv, t),
      }),
    );
    // The scheduler binds it: subresource binding, a Status in the response.
    events.push(
      auditEvent({
        atMs: step(),
        verb: 'create',
        user: 'system:kube-scheduler',
        userAgent: 'kube-scheduler/v1.30.2 (linux/amd64) kubernetes/3968350/scheduler',
        uri: `/api/v1/namespaces/shop/pods/${name}/binding`,
        ref: { resource: 'pods', namespace: 'shop', name, apiVersion: 'v1', subresource: 'binding' },
        code: 201,
        response: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
        level: 'RequestResponse',
      }),
    );
    // The kubelet reports status (Metadata level, as most policies log node traffic).
    events.push(
      auditEvent({
        atMs: step(),
        verb: 'patch',
        user: 'system:node:worker-1',
        userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
        uri: `/api/v1/namespaces/shop/pods/${name}/status`,
        ref: { resource: 'pods', namespace: 'shop', name, apiVersion: 'v1', subresource: 'status' },
        code: 200,
        level: 'Metadata',
      }),
    );
  }
  // alice scales to 3: a RequestResponse update whose response is the next version (diffed against the first).
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'patch',
      user: 'alice',
      userAgent: KUBECTL,
      uri: '/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=kubectl-patch',
      ref: {
        resource: 'deployments',
        namespace: 'shop',
        name: 'web',
        apiGroup: 'apps',
        apiVersion: 'v1',
        resourceVersion: '1001',
      },
      code: 200,
      request: { spec: { replicas: 3 } },
      response: deployment(++rv, 3, 'shop/web:1.0', t, 2),
    }),
  );
  // A stale update from a CI bot impersonating deployer: 409 Conflict.
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'update',
      user: 'ci-bot',
      impersonate: 'deployer',
      userAgent: 'argocd-application-controller/v2.11.0',
      uri: '/apis/apps/v1/namespaces/shop/deployments/web',
      ref: {
        resource: 'deployments',
        namespace: 'shop',
        name: 'web',
        apiGroup: 'apps',
        apiVersion: 'v1',
        resourceVersion: '1001',
      },
      code: 409,
      status: {
        status: 'Failure',
        reason: 'Conflict',
        message:
          'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
      },
      response: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        reason: 'Conflict',
        code: 409,
      },
    }),
  );
  // bob deletes a pod that is already gone: 404.
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'delete',
      user: 'bob',
      userAgent: KUBECTL,
      uri: `/api/v1/namespaces/shop/pods/${pods[0]}`,
      ref: { resource: 'pods', namespace: 'shop', name: pods[0]!, apiVersion: 'v1' },
      code: 404,
      level: 'Metadata',
      status: { status: 'Failure', reason: 'NotFound', message: `pods "${pods[0]}" not found` },
    }),
  );
  // Must be skipped: a read, and the RequestReceived stage of a write.
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'get',
      user: 'alice',
      userAgent: KUBECTL,
      uri: '/apis/apps/v1/namespaces/shop/deployments/web',
      ref: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
      code: 200,
      level: 'Metadata',
    }),
  );
  events.push(
    auditEvent({
      atMs: step(),
      verb: 'patch',
      user: 'alice',
      userAgent: KUBECTL,
      uri: '/apis/apps/v1/namespaces/shop/deployments/web',
      ref: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
      code: 200,
      level: 'Metadata',
      stage: 'RequestReceived',
    }),
  );
  return { events, pods, skipped: 2, startMs, endMs: t + 1000 };
}

/** An `EventList` as the webhook backend posts it. */
export const eventList = (items: readonly AuditEvent[]) => ({
  kind: 'EventList',
  apiVersion: 'audit.k8s.io/v1',
  metadata: {},
  items,
});
