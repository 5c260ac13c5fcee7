import type { K8sWatcherStatus } from '@spyglass/protocol';

/** A resource a watcher follows, resolved: API group, version and plural resource. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** An object as the API server returns it (only `metadata` is relied on). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generateName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    creationTimestamp?: string;
    deletionTimestamp?: string;
    managedFields?: unknown;
  };
  [key: string]: unknown;
}

/**
 * Where the watchers hand what they see. Each call queues the items and answers at once; `false` means the queue is
 * full and nothing of the call was taken: the watcher waits for `drained()` and offers them again.
 */
export interface K8sSink {
  /** Versions of watched objects: `added` (the initial list and creations), `modified`, `deleted`. */
  versions(
    cluster: string,
    gvr: GroupVersionResource,
    items: readonly { change: 'added' | 'modified' | 'deleted'; object: KubeObject; observedAtMs: number }[],
  ): boolean;
  /** Event objects, as `core/v1` (`v1`) or `events.k8s.io/v1` serves them. */
  events(cluster: string, api: 'v1' | 'events.k8s.io/v1', items: readonly KubeObject[]): boolean;
  /**
   * Records that a watch has seen everything up to `resourceVersion`: stored after every item offered before it, so
   * a restart resumes from there (`resumeVersion`) without losing or repeating what was stored.
   */
  checkpoint(cluster: string, watch: string, resourceVersion: string): boolean;
  /** Resolves once the queue has room again. */
  drained(): Promise<void>;
  /**
   * Objects of a resource stored as present (not deleted), after everything queued so far is stored: a relist marks
   * those it no longer returns as deleted.
   */
  tracked?(cluster: string, gvr: GroupVersionResource): Promise<{ namespace: string; name: string }[]>;
  /** The last checkpoint of a watch (`deployments.apps`, `pods`, `events`, `events.events.k8s.io`), or null. */
  resumeVersion(cluster: string, watch: string): Promise<string | null>;
}

/** The watchers of one cluster, as the k8s module drives them on the replica that holds the watcher lease. */
export interface ClusterWatchers {
  start(): void;
  /** Ends every watch; resolves when none is running (within a few seconds). Never rejects. */
  stop(): Promise<void>;
  status(): K8sWatcherStatus[];
}
