import {
  LOG_LEVELS,
  METRIC_TYPES,
  actionSyntaxProblems,
  type Action,
  type Agent,
  type CreateActionInput,
} from '@spyglass/protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, problemOf } from '../api';
import { fieldErrors } from '../lib/issues';
import { Field } from './Field';

type Kind = 'log' | 'snapshot' | 'metric';

const FIELDS = [
  'kind',
  'file',
  'line',
  'condition',
  'template',
  'level',
  'pipe',
  'expressions',
  'limits',
  'metric',
  'name',
  'endLine',
  'expression',
  'target.pool',
  'target.agentIds',
  'target.service',
  'target.tags',
  'target',
  'maxHits',
  'expiresAt',
];

const LIFETIMES: { label: string; ms: number }[] = [
  { label: '15 minutes', ms: 15 * 60_000 },
  { label: '1 hour', ms: 60 * 60_000 },
  { label: '4 hours', ms: 4 * 60 * 60_000 },
  { label: '24 hours', ms: 24 * 60 * 60_000 },
  // The hub allows 7 days from the moment it receives the request.
  { label: '7 days', ms: 7 * 24 * 60 * 60_000 - 60_000 },
];

const METRIC_HELP: Record<string, string> = {
  counter: 'Counts how often the line runs.',
  tictoc: 'Time from this line to the end line, in the same call.',
  duration: 'How long the function around this line takes.',
  gauge: 'Records the value of a numeric expression each time the line runs.',
};

/** `a=1, b=2` → `{ a: '1', b: '2' }` (a word without `=` is a tag with an empty value). */
export function parseTags(text: string): Record<string, string> | undefined {
  const pairs = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq < 0) out[p] = '';
    else out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}

const optionalNumber = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

interface ActionFormProps {
  agent: Agent;
  /** File reference to put in the action (a path suffix the agent resolves). */
  file: string;
  /** Empty in the form when unknown. */
  line: number | undefined;
  /** What the form starts with (default: a log for this agent only). */
  initialKind?: Kind;
  initialScope?: 'agent' | 'service';
  onCreated: (action: Action) => void;
  onCancel: () => void;
}

/**
 * Adds a log, snapshot or metric at a line. The hub validates everything: its answer's `issues[]` are shown under
 * the fields they name. The syntax of the template, condition, watch and gauge expressions is checked as they are
 * typed, with the parser the agent and the hub use, and a form with a syntax problem is not sent.
 */
export function ActionForm({
  agent,
  file,
  line,
  initialKind = 'log',
  initialScope = 'agent',
  onCreated,
  onCancel,
}: ActionFormProps) {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<Kind>(initialKind);
  const [fileRef, setFileRef] = useState(file);
  const [lineText, setLineText] = useState(line === undefined ? '' : String(line));
  const [condition, setCondition] = useState('');
  const [template, setTemplate] = useState('');
  const [level, setLevel] = useState<string>('info');
  const [pipe, setPipe] = useState(false);
  const [expressions, setExpressions] = useState('');
  const [maxFrames, setMaxFrames] = useState('');
  const [maxDepth, setMaxDepth] = useState('');
  const [metric, setMetric] = useState<string>('counter');
  const [name, setName] = useState('');
  const [endLine, setEndLine] = useState('');
  const [expression, setExpression] = useState('');
  const [scope, setScope] = useState<'agent' | 'service'>(initialScope);
  const [tags, setTags] = useState('');
  const [maxHits, setMaxHits] = useState('');
  const [lifetime, setLifetime] = useState(String(LIFETIMES[1]?.ms ?? 3_600_000));

  const create = useMutation({
    mutationFn: (body: CreateActionInput) => api.actions.create(body),
    onSuccess: async (action) => {
      await queryClient.invalidateQueries({ queryKey: ['actions'] });
      onCreated(action);
    },
  });

  const watchList = expressions
    .split('\n')
    .map((x) => x.trim())
    .filter(Boolean);
  const syntax = actionSyntaxProblems({
    kind,
    template,
    condition: condition.trim() === '' ? undefined : condition.trim(),
    expressions: watchList,
    expression: kind === 'metric' && metric === 'gauge' && expression.trim() !== '' ? expression : undefined,
  }).map((p) => ({ path: `body.${p.path.join('.')}`, message: p.message }));

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (syntax.length > 0) return;
    const target: Record<string, unknown> = { pool: agent.poolName };
    if (scope === 'agent') target.agentIds = [agent.id];
    else target.service = agent.service.name;
    const tagRecord = parseTags(tags);
    if (tagRecord !== undefined) target.tags = tagRecord;
    const body: Record<string, unknown> = {
      kind,
      file: fileRef,
      line: optionalNumber(lineText),
      target,
      expiresAt: Date.now() + Number(lifetime),
    };
    if (condition.trim() !== '') body.condition = condition;
    const hits = optionalNumber(maxHits);
    if (hits !== undefined) body.maxHits = hits;
    if (kind === 'log') Object.assign(body, { template, level, pipe });
    if (kind === 'snapshot') {
      body.expressions = watchList;
      const limits: Record<string, number> = {};
      const f = optionalNumber(maxFrames);
      const d = optionalNumber(maxDepth);
      if (f !== undefined) limits.maxFrames = f;
      if (d !== undefined) limits.maxDepth = d;
      if (Object.keys(limits).length > 0) body.limits = limits;
    }
    if (kind === 'metric') {
      body.metric = metric;
      body.name = name;
      if (metric === 'tictoc') body.endLine = optionalNumber(endLine);
      if (metric === 'gauge') body.expression = expression;
    }
    // The hub is the validator: whatever is wrong comes back as issues and is shown inline.
    create.mutate(body as unknown as CreateActionInput);
  };

  const problem = create.error === null ? null : problemOf(create.error);
  // Syntax problems as typed, and the hub's answer to the last submission (without repeating a message).
  const issues = [...syntax];
  for (const i of problem?.issues ?? [])
    if (!issues.some((x) => x.path === i.path && x.message === i.message)) issues.push(i);
  const errs = fieldErrors(issues, FIELDS);
  const e = (f: string): string[] | undefined => errs.byField[f];
  const targetErrors = [...(e('target') ?? []), ...(e('target.agentIds') ?? []), ...(e('target.service') ?? [])];

  return (
    <form onSubmit={submit} noValidate aria-label="Add an action" data-testid="action-form">
      <div className="field">
        <span className="label" id="kind-label">
          What to add
        </span>
        <div className="segmented" role="radiogroup" aria-labelledby="kind-label">
          {(['log', 'snapshot', 'metric'] as const).map((k) => (
            <button
              key={k}
              type="button"
              role="radio"
              aria-checked={kind === k}
              onClick={() => setKind(k)}
              data-testid={`kind-${k}`}
            >
              {k === 'log' ? 'Log' : k === 'snapshot' ? 'Snapshot' : 'Metric'}
            </button>
          ))}
        </div>
        {e('kind') && <div className="field-error">{e('kind')?.join('; ')}</div>}
      </div>

      {problem !== null && (problem.issues ?? []).length === 0 && (
        <div className="alert" role="alert">
          {problem.message}
        </div>
      )}
      {errs.other.map((i) => (
        <div className="alert" role="alert" key={`${i.path}:${i.message}`}>
          {i.path}: {i.message}
        </div>
      ))}

      <div className="row">
        <div style={{ flex: '3 1 0', minWidth: 0 }}>
          <Field label="File" errors={e('file')} hint="A path suffix the agent resolves (through source maps)">
            <input value={fileRef} onChange={(ev) => setFileRef(ev.target.value)} spellCheck={false} />
          </Field>
        </div>
        <div style={{ flex: '1 1 0', minWidth: 70 }}>
          <Field label="Line" errors={e('line')}>
            <input inputMode="numeric" value={lineText} onChange={(ev) => setLineText(ev.target.value)} />
          </Field>
        </div>
      </div>

      {kind === 'log' && (
        <>
          <Field
            label="Message template"
            errors={e('template')}
            hint="Text with {expression} parts, e.g. order {order.id} total {total}"
          >
            <input
              value={template}
              onChange={(ev) => setTemplate(ev.target.value)}
              spellCheck={false}
              placeholder="items {items.length}"
              data-testid="template"
            />
          </Field>
          <div className="row">
            <Field label="Level" errors={e('level')}>
              <select value={level} onChange={(ev) => setLevel(ev.target.value)}>
                {LOG_LEVELS.map((l) => (
                  <option key={l}>{l}</option>
                ))}
              </select>
            </Field>
            <div className="field">
              <label className="inline">
                <input type="checkbox" checked={pipe} onChange={(ev) => setPipe(ev.target.checked)} /> Also write to the
                app&apos;s own output
              </label>
            </div>
          </div>
        </>
      )}

      {kind === 'snapshot' && (
        <>
          <Field label="Watch expressions" errors={e('expressions')} hint="One per line, evaluated in the top frame">
            <textarea
              rows={3}
              value={expressions}
              onChange={(ev) => setExpressions(ev.target.value)}
              spellCheck={false}
            />
          </Field>
          <div className="row">
            <Field label="Max frames" errors={e('limits')}>
              <input
                inputMode="numeric"
                placeholder="20"
                value={maxFrames}
                onChange={(ev) => setMaxFrames(ev.target.value)}
              />
            </Field>
            <Field label="Max depth">
              <input
                inputMode="numeric"
                placeholder="3"
                value={maxDepth}
                onChange={(ev) => setMaxDepth(ev.target.value)}
              />
            </Field>
          </div>
        </>
      )}

      {kind === 'metric' && (
        <>
          <div className="row">
            <Field label="Metric" errors={e('metric')} hint={METRIC_HELP[metric]}>
              <select value={metric} onChange={(ev) => setMetric(ev.target.value)}>
                {METRIC_TYPES.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </Field>
            <Field label="Name" errors={e('name')}>
              <input
                value={name}
                onChange={(ev) => setName(ev.target.value)}
                placeholder="checkout.items"
                spellCheck={false}
              />
            </Field>
          </div>
          {metric === 'tictoc' && (
            <Field label="End line" errors={e('endLine')}>
              <input inputMode="numeric" value={endLine} onChange={(ev) => setEndLine(ev.target.value)} />
            </Field>
          )}
          {metric === 'gauge' && (
            <Field label="Expression" errors={e('expression')}>
              <input value={expression} onChange={(ev) => setExpression(ev.target.value)} spellCheck={false} />
            </Field>
          )}
        </>
      )}

      <Field
        label="Condition (optional)"
        errors={e('condition')}
        hint="Fires only when this is truthy, e.g. total > 1000"
      >
        <input value={condition} onChange={(ev) => setCondition(ev.target.value)} spellCheck={false} />
      </Field>

      <details
        className="advanced"
        open={targetErrors.length > 0 || e('target.tags') !== undefined || e('maxHits') !== undefined}
      >
        <summary>Target and limits</summary>
        <div className="field">
          <span className="label">Apply to</span>
          <label className="inline">
            <input type="radio" name="scope" checked={scope === 'agent'} onChange={() => setScope('agent')} /> This
            agent ({agent.hostname}:{agent.pid})
          </label>
          <label className="inline">
            <input type="radio" name="scope" checked={scope === 'service'} onChange={() => setScope('service')} /> Every
            agent of {agent.service.name} in pool {agent.poolName}
          </label>
          {targetErrors.length > 0 && <div className="field-error">{targetErrors.join('; ')}</div>}
          {e('target.pool') && <div className="field-error">pool: {e('target.pool')?.join('; ')}</div>}
        </div>
        <Field label="Only agents with tags" errors={e('target.tags')} hint="key=value, separated by commas">
          <input value={tags} onChange={(ev) => setTags(ev.target.value)} spellCheck={false} />
        </Field>
        <div className="row">
          <Field label="Max hits" errors={e('maxHits')}>
            <input
              inputMode="numeric"
              value={maxHits}
              placeholder={kind === 'log' ? '100' : kind === 'snapshot' ? '1' : 'unlimited'}
              onChange={(ev) => setMaxHits(ev.target.value)}
            />
          </Field>
          <Field label="Expires after" errors={e('expiresAt')}>
            <select value={lifetime} onChange={(ev) => setLifetime(ev.target.value)}>
              {LIFETIMES.map((l) => (
                <option key={l.ms} value={String(l.ms)}>
                  {l.label}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </details>

      <div className="inline">
        <button type="submit" className="primary" disabled={create.isPending} data-testid="add-action">
          {create.isPending ? 'Adding…' : `Add ${kind}`}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
