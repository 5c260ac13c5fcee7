import { k8sOperations as ops, type K8sObject } from '@spyglass/protocol';
import { z } from 'zod';
import type { ModuleContext } from '../platform/module.js';
import { Budget } from '../platform/tools.js';
import { spanTree } from '../traces/tools.js';

function objectLine(o: K8sObject): string {
  const ns = o.namespace === '' ? '' : `${o.namespace}/`;
  const owner = o.owners[0] === undefined ? '' : ` · owned by ${o.owners[0].kind} ${o.owners[0].name}`;
  return (
    `${o.cluster} · ${o.group === '' ? '' : `${o.group}/`}${o.resource} ${ns}${o.name}${o.kind === '' ? '' : ` (${o.kind})`}` +
    `${owner} · last seen ${new Date(o.lastSeenAt).toISOString()}${o.deleted ? ' · deleted' : ''}`
  );
}

/** Registers the Kubernetes object tools (toolset `k8s`). */
export function addK8sTools(ctx: ModuleContext): void {
  ctx.tool({
    name: 'find_k8s_objects',
    title: 'Find Kubernetes objects',
    description:
      'Use this to find Kubernetes objects the hub has seen (audit log, Events, watchers) by cluster, resource ' +
      '(deployments, pods…), namespace, part of the name, label (key=value), user who changed it, or verb.',
    toolset: 'k8s',
    effect: 'read',
    uses: [ops.searchObjects, ops.listClusters],
    input: z.object({
      cluster: z.string().max(63).optional(),
      resource: z.string().max(253).optional(),
      namespace: z.string().max(63).optional(),
      name: z.string().max(253).optional(),
      label: z.string().max(400).optional(),
      user: z.string().max(255).optional(),
      verb: z.string().max(32).optional(),
      limit: z.number().int().min(1).max(200).default(20),
      cursor: z.string().max(200).optional(),
    }),
    async run(args, c) {
      const page = await c.invoke(ops.searchObjects, { query: args });
      if (page.items.length === 0) {
        const clusters = (await c.invoke(ops.listClusters, {})).items.map((x) => x.name);
        return clusters.length === 0
          ? 'No objects: no cluster has sent audit entries or been watched (docs/kubernetes.md).'
          : `No objects match. Clusters: ${clusters.join(', ')}.`;
      }
      const budget = new Budget(c.maxChars);
      for (const o of page.items) budget.add(objectLine(o));
      const next = page.nextCursor === null ? undefined : `… more objects: call again with cursor "${page.nextCursor}"`;
      return budget.text(budget.leftOut > 0 ? `… ${budget.leftOut} more left out for size` : next);
    },
  });

  ctx.tool({
    name: 'trace_k8s_object',
    title: 'Trace a Kubernetes object',
    description:
      'Use this to see what happened to a Kubernetes object and its owners/owned objects: one span per object, with ' +
      'its audit entries (who did what, response code), Events and spec diffs as lines, over the last hours.',
    toolset: 'k8s',
    effect: 'read',
    uses: [ops.getTrace],
    input: z.object({
      cluster: z.string().min(1).max(63),
      resource: z.string().min(1).max(253).describe('e.g. deployments, pods'),
      namespace: z.string().max(63).default(''),
      name: z.string().min(1).max(253),
      group: z.string().max(253).optional(),
      sinceHours: z
        .number()
        .min(0.1)
        .max(24 * 30)
        .default(24),
      owners: z.enum(['ancestors', 'descendants', 'both', 'none']).default('both'),
      depth: z.number().int().min(1).max(5).default(3),
    }),
    async run(args, c) {
      const { sinceHours, ...key } = args;
      const t = await c.invoke(ops.getTrace, {
        query: { ...key, from: Math.floor(c.now - sinceHours * 3_600_000), to: c.now, mode: 'tracing' },
      });
      const budget = new Budget(c.maxChars);
      budget.add(
        `${objectLine(t.root)} · trace ${t.traceId} · ${t.objects.length} objects${t.truncated ? ' · cut by read limits' : ''}`,
      );
      for (const w of t.warnings) budget.add(`warning: ${w}`);
      spanTree(t.spans, budget, { maxDepth: 10, events: true });
      return budget.text(
        budget.leftOut > 0 ? `… ${budget.leftOut} more lines left out; narrow sinceHours or owners` : undefined,
      );
    },
  });
}
