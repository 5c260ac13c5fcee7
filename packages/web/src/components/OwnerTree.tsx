import type { K8sObject } from '@spyglass/protocol';
import { useMemo } from 'react';
import { objectPath, shortPath, type KubernetesSearch, type ObjectKey } from '../lib/k8s-search';
import { buildOwnerTree, kindLabel, objectKey, sameObject, type OwnerNode } from '../lib/k8s-trace';
import { serviceColor } from '../lib/trace-search';
import { ObjectLink } from './K8sDetails';

function Node({
  node,
  root,
  current,
  onSelect,
  spanOf,
}: {
  node: OwnerNode;
  root: ObjectKey;
  current: KubernetesSearch;
  onSelect: (spanId: string) => void;
  spanOf: (o: K8sObject) => string | undefined;
}) {
  const o = node.object;
  const here = sameObject(o, root);
  const spanId = spanOf(o);
  return (
    <li data-testid="owner-node" data-depth={node.depth} data-here={here}>
      <div className={`owner-row${here ? ' here' : ''}`}>
        <span className="swatch" style={{ background: serviceColor(kindLabel(o)) }} aria-hidden="true" />
        <span className="owner-kind">{kindLabel(o)}</span>
        {here ? (
          <strong className="mono owner-name" aria-current="true" title={objectPath(o)}>
            {shortPath(o, root.namespace)}
          </strong>
        ) : (
          <ObjectLink current={current} object={o} className="mono owner-name">
            {shortPath(o, root.namespace)}
          </ObjectLink>
        )}
        {o.deleted && <span className="badge err">deleted</span>}
        {spanId !== undefined && (
          <button
            type="button"
            className="link subtle owner-select"
            onClick={() => onSelect(spanId)}
            aria-label={`Show ${kindLabel(o)} ${objectPath(o)} in the waterfall`}
            title="Show its row in the waterfall"
          >
            show
          </button>
        )}
      </div>
      {node.children.length > 0 && (
        <ul>
          {node.children.map((c) => (
            <Node
              key={objectKey(c.object)}
              node={c}
              root={root}
              current={current}
              onSelect={onSelect}
              spanOf={spanOf}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

/**
 * The trace's objects by ownership (Deployment → ReplicaSet → Pod): a click on another object opens its own trace
 * (with the same mode, owners and time range), so one can go from a Pod up to its Deployment and back down.
 */
export function OwnerTree({
  objects,
  root,
  current,
  onSelect,
  spanOf,
}: {
  objects: readonly K8sObject[];
  root: ObjectKey;
  current: KubernetesSearch;
  onSelect: (spanId: string) => void;
  spanOf: (o: K8sObject) => string | undefined;
}) {
  const tops = useMemo(() => buildOwnerTree(objects, root), [objects, root]);
  return (
    <nav className="card owner-tree" aria-label="Owner tree" data-testid="owner-tree">
      <h2>Owners and owned objects ({objects.length})</h2>
      <ul>
        {tops.map((n) => (
          <Node key={objectKey(n.object)} node={n} root={root} current={current} onSelect={onSelect} spanOf={spanOf} />
        ))}
      </ul>
    </nav>
  );
}
