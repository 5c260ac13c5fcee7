import type { AssistantLink } from '@spyglass/protocol';
import { useNavigate } from '@tanstack/react-router';
import type { MouseEvent } from 'react';
import { argumentsSummary, type ChatItem, type ToolEffect, type ToolItem } from '../lib/assistant-chat';

const EFFECT_TONE: Record<ToolEffect, string> = { read: 'ok', write: 'warn', destructive: 'err', unknown: '' };

export function EffectBadge({ effect }: { effect: ToolEffect }) {
  return (
    <span className={`badge ${EFFECT_TONE[effect]}`} title={effect === 'read' ? 'reads only' : 'changes something'}>
      {effect}
    </span>
  );
}

const LINK_LABEL: Record<AssistantLink['kind'], string> = {
  action: 'Action',
  trace: 'Trace',
  'test-run': 'Test run',
  'k8s-object': 'Kubernetes object',
};

/** A console page a tool call touched, opened inside the console. */
function PageLink({ link }: { link: AssistantLink }) {
  const navigate = useNavigate();
  const short = link.kind === 'test-run' ? link.id : link.id.slice(0, 8);
  const open = (e: MouseEvent<HTMLAnchorElement>): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    void navigate({ href: link.path });
  };
  return (
    <a href={link.path} onClick={open} className="chip" title={link.path}>
      {LINK_LABEL[link.kind]} {short}
    </a>
  );
}

function pretty(args: unknown): string {
  return typeof args === 'string' ? args : JSON.stringify(args ?? {}, null, 2);
}

function toolStatus(tool: ToolItem, running: boolean): { label: string; tone: string } {
  if (tool.result !== null)
    return tool.result.isError ? { label: 'error', tone: 'err' } : { label: 'done', tone: 'ok' };
  if (tool.approval?.state === 'pending') return { label: 'waiting for you', tone: 'warn' };
  return running ? { label: 'running…', tone: '' } : { label: 'did not finish', tone: '' };
}

const DECIDED: Partial<Record<NonNullable<ToolItem['approval']>['state'], string>> = {
  approving: 'Approved; running…',
  denying: 'Denied',
  approved: 'You approved this',
  denied: 'You denied this',
  expired: 'Not answered; it did not run',
};

/** A write tool waiting for the user: the hub's question and Approve / Deny. */
function ApprovalCard({
  tool,
  onApprove,
  onDeny,
}: {
  tool: ToolItem;
  onApprove: (id: string) => void;
  onDeny: (id: string) => void;
}) {
  const approval = tool.approval!;
  const pending = approval.state === 'pending';
  return (
    <div
      className={`approval${pending ? ' pending' : ''}`}
      role="group"
      aria-label={`Approval for ${tool.name}`}
      data-testid="approval"
    >
      <div className="approval-prompt">{approval.prompt}</div>
      {pending ? (
        <div className="inline">
          <button type="button" className="primary small" onClick={() => onApprove(tool.id)}>
            Approve
          </button>
          <button type="button" className="small danger" onClick={() => onDeny(tool.id)}>
            Deny
          </button>
        </div>
      ) : (
        <span className="subtle">{DECIDED[approval.state]}</span>
      )}
    </div>
  );
}

/** One tool call: name, effect and arguments in a line that unfolds into the arguments and result in full. */
export function ToolCard({
  tool,
  running,
  onApprove,
  onDeny,
}: {
  tool: ToolItem;
  running: boolean;
  onApprove: (id: string) => void;
  onDeny: (id: string) => void;
}) {
  const status = toolStatus(tool, running);
  const failed = tool.result?.isError === true;
  return (
    <div
      className={`tool-card${failed ? ' failed' : ''}`}
      data-testid="tool-card"
      data-tool={tool.name}
      data-status={status.label}
    >
      <details>
        <summary>
          <span className="mono tool-name">{tool.name}</span> <EffectBadge effect={tool.effect} />{' '}
          <span className={`badge ${status.tone}`}>{status.label}</span>{' '}
          <span className="mono subtle tool-args">{argumentsSummary(tool.arguments)}</span>
        </summary>
        <div className="tool-body">
          <h3>Arguments</h3>
          <pre className="code-block">{pretty(tool.arguments)}</pre>
          {tool.result !== null && (
            <>
              <h3>{failed ? 'Error' : 'Result'}</h3>
              <pre className={`code-block${failed ? ' err-text' : ''}`} data-testid="tool-result">
                {tool.result.text}
              </pre>
            </>
          )}
        </div>
      </details>
      {tool.result !== null && tool.result.links.length > 0 && (
        <div className="tool-links" aria-label={`Pages ${tool.name} touched`}>
          {tool.result.links.map((l) => (
            <PageLink key={`${l.kind}:${l.id}`} link={l} />
          ))}
        </div>
      )}
      {tool.approval !== null && <ApprovalCard tool={tool} onApprove={onApprove} onDeny={onDeny} />}
    </div>
  );
}

/** How to give the hub a model, where the assistant has none. */
export function NotConfiguredHelp() {
  return (
    <div className="alert info" data-testid="assistant-not-configured">
      <strong>The assistant is not configured.</strong> An admin points the hub at an OpenAI-compatible model server
      (OpenAI, Ollama&apos;s <code>/v1</code>, vLLM, LM Studio…) with <code>assistant.provider.baseUrl</code> and{' '}
      <code>assistant.provider.model</code> in the config file, or <code>SPYGLASS_ASSISTANT_BASE_URL</code> and{' '}
      <code>SPYGLASS_ASSISTANT_MODEL</code>, then restarts it. See <code>docs/assistant.md</code>.
    </div>
  );
}

/** One entry of the conversation. */
export function ChatEntry({
  item,
  running,
  helpAbove,
  onApprove,
  onDeny,
}: {
  item: ChatItem;
  running: boolean;
  /** The page already says how to configure a model (so a NOT_CONFIGURED error does not repeat it). */
  helpAbove: boolean;
  onApprove: (id: string) => void;
  onDeny: (id: string) => void;
}) {
  switch (item.kind) {
    case 'user':
      return (
        <div className="chat-msg user" data-testid="user-message">
          <div className="chat-who">You</div>
          <div className="chat-text">{item.text}</div>
        </div>
      );
    case 'assistant':
      return (
        <div
          className="chat-msg assistant"
          data-testid="assistant-message"
          data-streaming={item.streaming ? 'true' : 'false'}
        >
          <div className="chat-who">
            Assistant
            {item.streaming && <span className="spinner small-spinner" aria-label="Answering" />}
            {item.steps !== undefined && (
              <span className="subtle">
                {' '}
                · {item.steps} step{item.steps === 1 ? '' : 's'}, {item.tokens} tokens
              </span>
            )}
          </div>
          <div className="chat-text">{item.text}</div>
        </div>
      );
    case 'tool':
      return <ToolCard tool={item} running={running} onApprove={onApprove} onDeny={onDeny} />;
    case 'error':
      return (
        <div className="chat-error" data-testid="chat-error" data-code={item.code}>
          <div className="alert" role="alert">
            {item.message} <span className="subtle">({item.code})</span>
          </div>
          {item.code === 'NOT_CONFIGURED' && !helpAbove && <NotConfiguredHelp />}
        </div>
      );
  }
}
