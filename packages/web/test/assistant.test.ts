/**
 * The console's Assistant page end to end: a real hub whose assistant talks, through its real OpenAI-compatible
 * client, to a scripted model server on 127.0.0.1 (no model can run here), and Debian's Chromium driven by
 * playwright-core. The tools run for real as the signed-in user. Screenshots go to test-artifacts/console/. Skipped,
 * with a message, where /usr/bin/chromium is not installed.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  ScriptedModelServer,
  createHub,
  newTraceId,
  otlpJsonRequest,
  waitFor,
  type ModelRequest,
  type TestHub,
  type TestPool,
} from '../../server/test/kit/index.js';
import { PageTracker, buildConsoleOnce, chromiumAvailable, launchChromium, shot } from './browser-kit.js';

const hasChromium = chromiumAvailable("the Assistant page's browser tests");

const MODEL = 'scripted-console';
const QUESTION = 'Is the shop up? Log the order total at checkout.ts:52.';
const ADD_LOG = {
  service: 'shop',
  file: 'src/services/checkout.ts',
  line: 52,
  template: 'total {order.totalCents}',
};
const PROMPT = 'Add a log at checkout.ts:52 in shop: "total {order.totalCents}"?';

const call = (name: string, args: unknown) => ({ name, arguments: JSON.stringify(args) });
const lastTool = (req: ModelRequest): string => {
  const tools = req.body.messages.filter((m) => m.role === 'tool');
  return tools[tools.length - 1]?.content ?? '';
};

describe.skipIf(!hasChromium)('Assistant page in Chromium against a real hub and a scripted model server', () => {
  let hub: TestHub;
  let pool: TestPool;
  let model: ScriptedModelServer;
  let browser: Browser;
  const pages = new PageTracker(
    () => browser,
    () => hub.url,
    { timeoutMs: 30_000 },
  );

  const toolCards = (p: Page, name: string) => p.locator(`[data-testid="tool-card"][data-tool="${name}"]`);

  beforeAll(async () => {
    await buildConsoleOnce();
    model = await ScriptedModelServer.start();
    hub = await createHub({
      listen: true,
      timers: 'default',
      env: { SPYGLASS_ASSISTANT_BASE_URL: model.url, SPYGLASS_ASSISTANT_MODEL: MODEL },
    });
    pool = await hub.createPool('assistant-e2e');
    browser = await launchChromium();
  }, 120_000);

  afterEach(() => pages.check());

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await model?.close();
  });

  it('asks before a write, shows a denial and a failed write as cards, links a trace, and keeps the conversation', async () => {
    // A trace the model reads, so a tool card links into the console.
    const traceId = newTraceId();
    const exported = await fetch(`${hub.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(
        otlpJsonRequest([{ traceId, name: 'POST /orders', service: 'shop', startMs: Date.now(), durationMs: 12 }]),
      ),
    });
    expect(exported.status, await exported.clone().text()).toBe(200);
    await waitFor(async () => (await hub.api('GET', `/api/v1/traces/${traceId}`)).status === 200, {
      what: 'the hub to store the exported trace',
      timeoutMs: 30_000,
    });

    const seen: string[] = [];
    model.reply(
      { text: 'Let me look first.', toolCalls: [call('list_agents', {}), call('get_trace', { traceId })] },
      { text: 'I will add the log now.', toolCalls: [call('add_log', ADD_LOG)] },
      (req) => {
        seen.push(lastTool(req));
        return { text: 'Understood: I did not add the log. The trace has one POST /orders span.', chunk: 3 };
      },
    );

    const page = await pages.adminPage();
    await page.goto(`${hub.url}/agents`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Assistant' }).click();
    await page.waitForURL(/\/assistant$/);
    await expect
      .poll(() => page.getByTestId('assistant-status').textContent(), { timeout: 30_000 })
      .toBe(`model ${MODEL}`);
    await expect(page.getByRole('navigation', { name: 'Conversations' }).textContent()).resolves.toContain(
      'No conversation yet.',
    );

    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill(QUESTION);
    await box.press('Enter');
    await page.getByTestId('user-message').filter({ hasText: QUESTION }).waitFor();

    // The read tools ran on their own; the write waits for the user, with the hub's question.
    const approval = page.getByRole('group', { name: 'Approval for add_log' });
    await approval.waitFor();
    await expect(approval.textContent()).resolves.toContain(PROMPT);
    expect(await box.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Cancel' }).isVisible()).toBe(true);
    // Streamed text before the tool calls is its own message (only deltas carry it; the answer frame has the last).
    await page.getByTestId('assistant-message').filter({ hasText: 'Let me look first.' }).waitFor();
    await page.getByTestId('assistant-message').filter({ hasText: 'I will add the log now.' }).waitFor();
    const list = toolCards(page, 'list_agents');
    await expect.poll(() => list.getAttribute('data-status')).toBe('done');
    await expect(list.locator('summary').textContent()).resolves.toMatch(/list_agents\s*read\s*done/);
    const trace = toolCards(page, 'get_trace');
    await expect.poll(() => trace.getAttribute('data-status')).toBe('done');
    const traceLink = trace.getByRole('link', { name: `Trace ${traceId.slice(0, 8)}` });
    await expect(traceLink.getAttribute('href')).resolves.toBe(`/traces/${traceId}`);
    // A card unfolds into the arguments and the result.
    await trace.locator('summary').click();
    await expect(trace.getByTestId('tool-result').textContent()).resolves.toContain(`trace ${traceId}`);
    await expect(toolCards(page, 'add_log').locator('summary').textContent()).resolves.toMatch(
      /add_log\s*write\s*waiting for you/,
    );
    await shot('assistant-approval', page);

    await approval.getByRole('button', { name: 'Deny' }).click();
    await page
      .getByTestId('assistant-message')
      .filter({ hasText: 'Understood: I did not add the log. The trace has one POST /orders span.' })
      .waitFor();
    expect(seen).toEqual(['The user did not approve add_log. Do not retry it unless they ask.']);
    const denied = toolCards(page, 'add_log');
    await expect.poll(() => denied.getAttribute('data-status')).toBe('error');
    await expect(denied.getByTestId('approval').textContent()).resolves.toContain('You denied this');
    await expect(denied.getByRole('button', { name: 'Approve' }).count()).resolves.toBe(0);
    await denied.locator('summary').click();
    await expect(denied.getByTestId('tool-result').textContent()).resolves.toBe(seen[0]);
    // The turn is over: the box takes the next question, and the stored conversation is in the URL and the list.
    await expect.poll(() => box.isEnabled()).toBe(true);
    await page.waitForURL(/\/assistant\/[0-9a-f-]{36}$/);
    const sessionId = new URL(page.url()).pathname.split('/').pop()!;
    const conversations = page.getByRole('navigation', { name: 'Conversations' });
    const listed = conversations.getByTestId('conversation');
    await expect.poll(() => listed.count()).toBe(1);
    await expect(listed.first().textContent()).resolves.toContain(QUESTION);
    await expect(listed.first().getAttribute('aria-current')).resolves.toBe('true');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(QUESTION);

    // Second turn on the same connection; Shift+Enter is a new line, Enter sends. The user approves this time; with
    // no agent running the shop, the tool fails and says so.
    model.reply({ toolCalls: [call('add_log', ADD_LOG)] }, (req) => {
      seen.push(lastTool(req));
      return { text: 'No agent runs the shop yet: start it under the agent, then ask again.' };
    });
    await box.fill('Add it anyway,');
    await box.press('Shift+Enter');
    await box.pressSequentially('please.');
    await expect(box.inputValue()).resolves.toBe('Add it anyway,\nplease.');
    expect(await page.getByTestId('user-message').count()).toBe(1);
    await box.press('Enter');
    await page.getByTestId('user-message').filter({ hasText: 'please.' }).waitFor();
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.waitFor();
    await expect(page.getByRole('group', { name: 'Approval for add_log' }).last().textContent()).resolves.toContain(
      PROMPT,
    );
    await approve.click();
    await page.getByTestId('assistant-message').filter({ hasText: 'No agent runs the shop yet' }).waitFor();
    expect(seen[1]).toMatch(/^NOT_FOUND: no connected agent runs service "shop"/);
    const failed = toolCards(page, 'add_log').last();
    await expect.poll(() => failed.getAttribute('data-status')).toBe('error');
    await expect(failed.getAttribute('class')).resolves.toContain('failed');
    await expect(failed.getByTestId('approval').textContent()).resolves.toContain('You approved this');
    await failed.locator('summary').click();
    await expect(failed.getByTestId('tool-result').textContent()).resolves.toMatch(
      /^NOT_FOUND: no connected agent runs service "shop"/,
    );
    expect(page.url()).toBe(`${hub.url}/assistant/${sessionId}`);
    await shot('assistant-conversation', page);

    // A reload resumes the conversation: every message from the hub's store, in order, the cards with their results.
    await page.reload();
    await page.getByTestId('user-message').nth(1).waitFor();
    await expect(page.getByTestId('user-message').allTextContents()).resolves.toEqual([
      `You${QUESTION}`,
      'YouAdd it anyway,\nplease.',
    ]);
    await expect(page.getByTestId('assistant-message').allTextContents()).resolves.toEqual([
      'AssistantLet me look first.',
      'AssistantI will add the log now.',
      'AssistantUnderstood: I did not add the log. The trace has one POST /orders span.',
      'AssistantNo agent runs the shop yet: start it under the agent, then ask again.',
    ]);
    const cards = page.getByTestId('tool-card');
    await expect(
      cards.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-tool')} ${e.getAttribute('data-status')}`)),
    ).resolves.toEqual(['list_agents done', 'get_trace done', 'add_log error', 'add_log error']);
    await expect(toolCards(page, 'add_log').first().locator('summary').textContent()).resolves.toMatch(
      /add_log\s*write/,
    );
    await expect(conversations.getByTestId('conversation').count()).resolves.toBe(1);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(QUESTION);
    await expect.poll(() => box.isEnabled()).toBe(true);
    await shot('assistant-resumed', page);

    // New conversation, and back to this one from the list.
    await conversations.getByRole('button', { name: 'New conversation' }).click();
    await page.waitForURL(/\/assistant$/);
    await expect.poll(() => page.getByTestId('user-message').count()).toBe(0);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('New conversation');
    await conversations.getByRole('link', { name: new RegExp(QUESTION.slice(0, 20).replace(/\?/g, '\\?')) }).click();
    await page.waitForURL(new RegExp(`/assistant/${sessionId}$`));
    await page.getByTestId('user-message').nth(1).waitFor();

    // The stored get_trace result still links to its trace, which opens in the console.
    await toolCards(page, 'get_trace')
      .getByRole('link', { name: `Trace ${traceId.slice(0, 8)}` })
      .click();
    await page.waitForURL(new RegExp(`/traces/${traceId}$`));
    await page.getByText('POST /orders').first().waitFor();

    // Deleting the conversation empties the list and leaves it.
    await page.goBack();
    await page.waitForURL(new RegExp(`/assistant/${sessionId}$`));
    page.once('dialog', (d) => void d.accept());
    await conversations.getByRole('button', { name: `Delete conversation ${QUESTION}` }).click();
    await page.waitForURL(/\/assistant$/);
    await expect.poll(() => conversations.textContent()).toContain('No conversation yet.');
    expect((await hub.api('GET', `/api/v1/assistant/sessions/${sessionId}`, undefined, 'admin')).status).toBe(404);
    expect(model.pending).toBe(0);
  }, 180_000);

  it('lists a fact the assistant saved, and forgets it', async () => {
    const FACT = 'The shop runs in pool assistant-e2e.';
    model.reply({ toolCalls: [call('remember', { fact: FACT })] }, { text: 'Noted.' });
    const page = await pages.adminPage();
    await page.goto(`${hub.url}/assistant`);
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Remember that the shop runs in pool assistant-e2e.');
    await box.press('Enter');
    await page.getByTestId('assistant-message').filter({ hasText: 'Noted.' }).waitFor();
    const remember = toolCards(page, 'remember');
    await expect.poll(() => remember.getAttribute('data-status')).toBe('done');
    await remember.locator('summary').click();
    await expect(remember.getByTestId('tool-result').textContent()).resolves.toBe(`Saved: ${FACT}`);

    const facts = page.getByTestId('saved-facts');
    await expect.poll(() => facts.locator('summary').textContent()).toBe('Saved facts (1)');
    await facts.locator('summary').click();
    await expect(facts.locator('li').allTextContents()).resolves.toEqual([`${FACT}Forget`]);
    await facts.getByRole('button', { name: `Forget ${FACT}` }).click();
    await expect.poll(() => facts.locator('summary').textContent()).toBe('Saved facts (0)');
    const left = await hub.api<{ items: unknown[] }>('GET', '/api/v1/assistant/memory', undefined, 'admin');
    expect(left.body.items).toEqual([]);
    expect(model.pending).toBe(0);
  }, 120_000);

  it('cancels a running turn: the error says so, nothing is stored, and the box takes the next question', async () => {
    model.reply({ hang: true });
    const page = await pages.adminPage();
    await page.goto(`${hub.url}/assistant`);
    const box = page.getByRole('textbox', { name: 'Message' });
    const asked = model.requests.length;
    await box.fill('Take your time.');
    await box.press('Enter');
    // Cancelled while the model server holds the request.
    await waitFor(() => model.requests.length > asked, { what: 'the hub to ask the model', timeoutMs: 30_000 });
    const cancel = page.getByRole('button', { name: 'Cancel' });
    await cancel.waitFor();
    expect(await box.isDisabled()).toBe(true);
    await cancel.click();
    const error = page.getByTestId('chat-error');
    await error.waitFor();
    await expect(error.getAttribute('data-code')).resolves.toBe('CANCELLED');
    await expect(error.textContent()).resolves.toContain('cancelled');
    await expect.poll(() => box.isEnabled()).toBe(true);
    await expect(page.getByRole('button', { name: 'Send' }).count()).resolves.toBe(1);
    expect(page.url()).toBe(`${hub.url}/assistant`);
    const sessions = await hub.api<{ items: { title: string }[] }>(
      'GET',
      '/api/v1/assistant/sessions',
      undefined,
      'admin',
    );
    expect(sessions.body.items.map((s) => s.title)).not.toContain('Take your time.');
    expect(model.pending).toBe(0);
  }, 120_000);

  it('says how to configure the assistant on a hub without a model, and answers a question with that', async () => {
    const bare = await createHub({ listen: true });
    try {
      const page = await pages.pageAs(ADMIN, { url: bare.url });
      await page.goto(`${bare.url}/assistant`);
      await expect
        .poll(() => page.getByTestId('assistant-status').textContent(), { timeout: 30_000 })
        .toBe('not configured');
      const help = await page.getByTestId('assistant-not-configured').textContent();
      expect(help).toContain('assistant.provider.baseUrl');
      expect(help).toContain('assistant.provider.model');
      expect(help).toContain('docs/assistant.md');

      const box = page.getByRole('textbox', { name: 'Message' });
      await box.fill('Which services are running?');
      await box.press('Enter');
      const error = page.getByTestId('chat-error');
      await error.waitFor();
      await expect(error.getAttribute('data-code')).resolves.toBe('NOT_CONFIGURED');
      await expect(error.getByRole('alert').textContent()).resolves.toContain(
        'the assistant has no model: an admin sets assistant.provider.baseUrl and model',
      );
      await expect(error.getByRole('alert').textContent()).resolves.toContain('docs/assistant.md');
      // The help stays above the conversation; the error does not repeat it.
      await expect(page.getByTestId('assistant-not-configured').count()).resolves.toBe(1);
      // Nothing was stored, and the box takes another try.
      await expect.poll(() => box.isEnabled()).toBe(true);
      expect(page.url()).toBe(`${bare.url}/assistant`);
      await shot('assistant-not-configured', page);
    } finally {
      await bare.close();
    }
  }, 120_000);
});
