import type { Action } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { api, keys, sources } from '../api';
import { ActionForm } from '../components/ActionForm';
import { StateBadge } from '../components/Badges';
import { CodeView, type LineMarker } from '../components/CodeView';
import { CopyButton } from '../components/CopyButton';
import { Empty, ErrorState, Loading } from '../components/States';
import { processLabel } from '../lib/format';
import { buildTree, commonFolder, displayPath, type TreeNode } from '../lib/source-tree';
import { useCanEditActions } from '../session';

function Tree({
  nodes,
  current,
  onOpen,
}: {
  nodes: TreeNode[];
  current: string | undefined;
  onOpen: (path: string) => void;
}) {
  return (
    <>
      {nodes.map((n) =>
        n.file !== undefined ? (
          <li key={n.path}>
            <button
              type="button"
              className={n.file.original ? 'file' : 'file compiled'}
              aria-current={current === n.path}
              onClick={() => onOpen(n.path)}
              title={n.path}
            >
              {n.name}
            </button>
          </li>
        ) : (
          <li key={n.path}>
            <div className="folder" style={{ padding: '2px 8px' }}>
              {n.name}/
            </div>
            <ul>
              <Tree nodes={n.children} current={current} onOpen={onOpen} />
            </ul>
          </li>
        ),
      )}
    </>
  );
}

/** Does the action's file reference name this path (equal, or a suffix at a folder boundary)? */
function sameFile(ref: string, path: string): boolean {
  const r = ref.replace(/^\.\//, '');
  return path === r || path.endsWith(`/${r}`);
}

export function SourcePage() {
  const { agentId } = useParams({ from: '/app/agents/$agentId/source' });
  const search = useSearch({ from: '/app/agents/$agentId/source' });
  const navigate = useNavigate({ from: '/agents/$agentId/source' });
  const canEdit = useCanEditActions();
  const [filter, setFilter] = useState('');
  const [originalsOnly, setOriginalsOnly] = useState(true);

  const agent = useQuery({
    queryKey: keys.agent(agentId),
    queryFn: () => api.agents.get(agentId),
    refetchInterval: 10_000,
  });
  const list = useQuery({
    queryKey: keys.sources(agentId),
    queryFn: () => sources.list(agentId),
    staleTime: 30_000,
    enabled: agent.data?.status === 'connected',
  });
  const file = search.file;
  const content = useQuery({
    queryKey: keys.source(agentId, file ?? ''),
    queryFn: () => sources.read(agentId, file ?? ''),
    enabled: file !== undefined && agent.data?.status === 'connected',
    staleTime: 60_000,
  });
  const pool = agent.data?.poolName;
  const actions = useQuery({
    queryKey: keys.actions({ pool, state: 'active', forSource: true }),
    queryFn: () => api.actions.list({ pool: pool ?? '', state: 'active', limit: 200 }),
    enabled: pool !== undefined,
    refetchInterval: 15_000,
  });

  const files = list.data?.files ?? [];
  const tree = useMemo(() => buildTree(files, { filter, originalsOnly }), [files, filter, originalsOnly]);
  const allRoot = useMemo(() => commonFolder(files.map((f) => f.path)), [files]);
  const markers = useMemo(() => {
    const m = new Map<number, LineMarker[]>();
    if (file === undefined) return m;
    for (const a of actions.data?.items ?? []) {
      if (!sameFile(a.file, file)) continue;
      const list = m.get(a.line) ?? [];
      list.push({ id: a.id, kind: a.kind, label: `${a.kind} ${a.id}` });
      m.set(a.line, list);
    }
    return m;
  }, [actions.data, file]);
  const lineActions: Action[] =
    file === undefined || search.line === undefined
      ? []
      : (actions.data?.items ?? []).filter((a) => a.line === search.line && sameFile(a.file, file));

  const open = (path: string): void => void navigate({ search: { file: path } });
  const select = (line: number): void => void navigate({ search: (s) => ({ ...s, line }), replace: true });
  const closePanel = (): void =>
    void navigate({ search: (s) => (s.file === undefined ? {} : { file: s.file }), replace: true });

  if (agent.isPending) return <Loading label="Loading agent…" />;
  if (agent.isError) return <ErrorState error={agent.error} onRetry={() => void agent.refetch()} />;
  const a = agent.data;
  const lineText =
    content.data !== undefined && search.line !== undefined
      ? (content.data.text.split('\n')[search.line - 1] ?? '')
      : '';

  return (
    <div className="source-layout">
      <aside className="source-side" aria-label="Source files">
        <div className="source-side-head">
          <div>
            <Link to="/agents" className="subtle">
              ← Agents
            </Link>
          </div>
          <div>
            <strong>{a.service.name}</strong> <StateBadge state={a.status} />
            <div className="subtle mono">
              {processLabel(a)} · {a.poolName}
            </div>
          </div>
          <input
            type="search"
            placeholder="Filter files"
            aria-label="Filter files"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
          <label className="inline subtle">
            <input type="checkbox" checked={originalsOnly} onChange={(e) => setOriginalsOnly(e.target.checked)} />{' '}
            Original sources only
          </label>
        </div>
        {a.status !== 'connected' ? (
          <Empty title="Agent disconnected">Sources can be browsed while the agent is connected.</Empty>
        ) : list.isPending ? (
          <Loading label="Asking the agent…" />
        ) : list.isError ? (
          <ErrorState error={list.error} onRetry={() => void list.refetch()} />
        ) : tree.count === 0 ? (
          <Empty title={files.length === 0 ? 'No source loaded yet' : 'No file matches'} />
        ) : (
          <ul className="tree" data-testid="file-tree">
            <Tree nodes={tree.nodes} current={file} onOpen={open} />
          </ul>
        )}
      </aside>

      <section className="source-main" aria-label="Source">
        <div className="source-head">
          {file === undefined ? (
            <span className="subtle">Pick a file on the left, then click a line to add a log, snapshot or metric.</span>
          ) : (
            <>
              <span className="path" title={file} data-testid="source-path">
                {displayPath(file, allRoot)}
              </span>
              <CopyButton text={() => file} label="Copy path" />
              {content.data?.truncated === true && (
                <span className="badge warn" title="The file is longer than the agent's size limit">
                  truncated
                </span>
              )}
              <span className="spacer" style={{ flex: 1 }} />
              <button
                type="button"
                className="small"
                onClick={() => void content.refetch()}
                disabled={content.isFetching}
              >
                Reload
              </button>
            </>
          )}
        </div>
        {file === undefined ? (
          <Empty title="No file open">
            {files.length > 0 && <p>{files.filter((f) => f.original).length} original sources loaded by this agent.</p>}
          </Empty>
        ) : content.isPending ? (
          <Loading label="Reading the file from the agent…" />
        ) : content.isError ? (
          <ErrorState error={content.error} onRetry={() => void content.refetch()} title="Could not read this file" />
        ) : (
          <CodeView
            path={file}
            text={content.data.text}
            selected={search.line ?? null}
            onSelect={select}
            markers={markers}
          />
        )}
      </section>

      {file !== undefined && search.line !== undefined && content.data !== undefined && (
        <aside className="panel" aria-label={`Line ${search.line}`} data-testid="line-panel">
          <div className="panel-head">
            <h2>Line {search.line}</h2>
            <button type="button" className="small" onClick={closePanel} aria-label="Close the line panel">
              ✕
            </button>
          </div>
          <pre className="mono subtle" style={{ whiteSpace: 'pre-wrap', margin: '0 0 12px' }}>
            {lineText.trim() === '' ? '(empty line)' : lineText.trim()}
          </pre>
          {lineActions.length > 0 && (
            <div className="alert info">
              On this line:{' '}
              {lineActions.map((x) => (
                <span key={x.id}>
                  <Link to="/actions/$actionId" params={{ actionId: x.id }}>
                    {x.kind} {x.id.slice(0, 8)}
                  </Link>{' '}
                </span>
              ))}
            </div>
          )}
          {canEdit ? (
            <ActionForm
              key={`${file}:${search.line}`}
              agent={a}
              file={displayPath(file, allRoot)}
              line={search.line}
              onCreated={(action) =>
                void navigate({ to: '/actions/$actionId', params: { actionId: action.id }, search: {} })
              }
              onCancel={closePanel}
            />
          ) : (
            <p className="subtle" data-testid="viewer-note">
              You can browse the source. Adding logs, snapshots and metrics needs the developer role.
            </p>
          )}
        </aside>
      )}
    </div>
  );
}
