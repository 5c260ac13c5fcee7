import type { PoolPolicyInput } from '@spyglass/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { parseDocument, stringify } from 'yaml';
import { api, problemOf } from '../api';
import { formatDateTime } from '../lib/format';
import { ErrorAlert } from './States';

const policyKey = (pool: string) => ['pool-policy', pool] as const;

/** What a new policy looks like: every section, with examples left as comments. */
const TEMPLATE = `redaction:
  names: []        # e.g. [iban, customerRef]
  values: []       # linear-time regular expressions, e.g. ['ACME-\\d{4}']
  defaults: true   # keep the agent's built-in rules
blocklist: []      # globs, e.g. ['**/secrets/**']
quotas: {}         # cpuBudgetPct, actionCpuBudgetPct, maxLogsPerSecond, maxLogsPerSecondPerAction, maxLogBytesPerSecond
capture: {}        # maxFrames, maxExpandedFrames, maxDepth, maxProperties, maxStringLength, maxArrayItems, maxBytes
`;

/**
 * The agent policy of one pool as YAML: redaction rules, file blocklist, quotas and capture ceilings. Saving replaces
 * it; the pool's connected agents apply it at once. The hub's refusals (a catastrophic pattern…) show with their field.
 */
export function PoolPolicyEditor({ pool, onClose }: { pool: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const policy = useQuery({ queryKey: policyKey(pool), queryFn: () => api.pools.getPolicy(pool) });
  const [text, setText] = useState<string | null>(null);
  const [syntax, setSyntax] = useState<string | null>(null);
  useEffect(() => {
    if (policy.data !== undefined && text === null)
      setText(policy.data.revision === 0 ? TEMPLATE : stringify(policy.data.policy));
  }, [policy.data, text]);
  const save = useMutation({
    mutationFn: (body: PoolPolicyInput) => api.pools.setPolicy(pool, body),
    onSuccess: async (record) => {
      queryClient.setQueryData(policyKey(pool), record);
      setText(stringify(record.policy));
      await queryClient.invalidateQueries({ queryKey: policyKey(pool) });
    },
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setSyntax(null);
    const doc = parseDocument(text ?? '');
    if (doc.errors.length > 0) {
      setSyntax(doc.errors[0]!.message);
      return;
    }
    const value: unknown = doc.toJS();
    save.mutate(value ?? {});
  };
  const issues = save.error === null ? [] : problemOf(save.error).issues;
  const record = policy.data;
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="pool-policy">
      <h2 id="pool-policy">Agent policy of {pool}</h2>
      <p className="subtle">
        {record === undefined
          ? 'Loading…'
          : record.revision === 0
            ? 'No policy set yet: agents use their own settings.'
            : `Revision ${record.revision}, set ${record.updatedAt === null ? '' : formatDateTime(record.updatedAt)}.`}{' '}
        Agents can only tighten it: rules add up, limits take the smaller value.
      </p>
      <ErrorAlert error={policy.error} />
      {syntax !== null && (
        <div className="alert error" role="alert">
          Not valid YAML: {syntax}
        </div>
      )}
      {save.isError && (
        <div className="alert error" role="alert">
          {issues.length === 0 ? (
            problemOf(save.error).message
          ) : (
            <ul>
              {issues.map((i) => (
                <li key={`${i.path}:${i.message}`}>
                  <code>{i.path.replace(/^body\./, '')}</code>: {i.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {save.isSuccess && !save.isPending && (
        <div className="alert ok" role="status">
          Saved revision {save.data.revision}: connected agents of {pool} apply it now.
        </div>
      )}
      <textarea
        aria-label="Policy (YAML)"
        className="policy-text"
        rows={14}
        spellCheck={false}
        value={text ?? ''}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="inline">
        <button type="submit" className="primary" disabled={save.isPending || text === null}>
          Save policy
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
