import type { AssistantFact, AssistantMessage, AssistantSession, AssistantToolCall, Page } from '@spyglass/protocol';
import type { Kysely, Selectable } from 'kysely';
import { newId } from '../auth/secrets.js';
import { keysetPage } from '../storage/paging.js';
import type { AssistantMessagesTable, AssistantSessionsTable, Database } from '../storage/schema.js';

/** A message before it is stored (the loop builds these during a turn and writes them when the turn succeeds). */
export interface NewMessage {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: AssistantToolCall[];
  toolCallId?: string;
  name?: string;
  isError?: boolean;
}

/** Messages kept per conversation; older ones are deleted as new turns are stored (the prompt uses fewer still). */
export const MAX_STORED_MESSAGES = 2000;
/** Facts kept per user; the oldest go first. */
export const MAX_FACTS = 500;

const STOP_WORDS = new Set(
  (
    'the and for are but not you your with this that from have has was were what when where which who why how ' +
    "can could should would will into onto about than then them they their there here our ours its it's is be " +
    'been being do does did done a an of to in on at by or as if so no yes me my we us i'
  ).split(' '),
);

/** The words a fact is recalled by: lower-case letters and digits, three or more long, no stop words. */
export function keywords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_][\p{L}\p{N}_.-]*[\p{L}\p{N}_]|[\p{L}\p{N}_]/gu) ?? [];
  const out = new Set<string>();
  for (const w of words) if (w.length >= 3 && !STOP_WORDS.has(w)) out.add(w.slice(0, 64));
  return [...out];
}

/**
 * How facts are found for a turn. Keyword overlap is what every database here can do; an embedding index would
 * implement the same interface.
 */
export interface FactRecall {
  recall(userId: string, query: string, limit: number): Promise<AssistantFact[]>;
}

const toSession = (r: Selectable<AssistantSessionsTable>): AssistantSession => ({
  id: r.id,
  title: r.title,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  messageCount: Number(r.message_count),
});

function toMessage(r: Selectable<AssistantMessagesTable>): AssistantMessage {
  let toolCalls: AssistantToolCall[] = [];
  if (r.tool_calls !== null) {
    try {
      toolCalls = JSON.parse(r.tool_calls) as AssistantToolCall[];
    } catch {
      toolCalls = [];
    }
  }
  return {
    seq: Number(r.seq),
    role: r.role as AssistantMessage['role'],
    content: r.content,
    toolCalls,
    toolCallId: r.tool_call_id,
    name: r.name,
    isError: Number(r.is_error) === 1,
    createdAt: Number(r.created_at),
  };
}

/** The assistant's memory on the hub's database (any of the three dialects). Every read is scoped to one user. */
export class AssistantStore implements FactRecall {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createSession(userId: string, title: string, now: number, id = newId()): Promise<AssistantSession> {
    const row = { id, user_id: userId, title, message_count: 0, created_at: now, updated_at: now };
    await this.#db.insertInto('assistant_sessions').values(row).execute();
    return toSession(row);
  }

  /** The user's conversation, or undefined when it does not exist or is someone else's. */
  async session(userId: string, id: string): Promise<AssistantSession | undefined> {
    const row = await this.#db
      .selectFrom('assistant_sessions')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row === undefined ? undefined : toSession(row);
  }

  async listSessions(userId: string, limit: number, cursor?: string): Promise<Page<AssistantSession>> {
    const q = this.#db.selectFrom('assistant_sessions').selectAll().where('user_id', '=', userId);
    const order = [
      ['updated_at', 'desc', 'number'],
      ['id', 'desc', 'string'],
    ] as const;
    const page = await keysetPage(q, order, cursor, limit);
    return { items: page.items.map(toSession), nextCursor: page.nextCursor };
  }

  /** The newest `limit` messages of a conversation, oldest first. */
  async messages(sessionId: string, limit = MAX_STORED_MESSAGES): Promise<AssistantMessage[]> {
    const rows = await this.#db
      .selectFrom('assistant_messages')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse().map(toMessage);
  }

  /**
   * Stores a finished turn's messages after the conversation's last one, in one transaction (a failed turn stores
   * nothing), and names the conversation after its first question.
   */
  async appendTurn(sessionId: string, messages: NewMessage[], now: number, title?: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('assistant_sessions')
        .select(['message_count'])
        .where('id', '=', sessionId)
        .executeTakeFirst();
      if (row === undefined) return;
      const last = await trx
        .selectFrom('assistant_messages')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('session_id', '=', sessionId)
        .executeTakeFirst();
      let seq = last?.seq === null || last?.seq === undefined ? 0 : Number(last.seq) + 1;
      if (messages.length > 0)
        await trx
          .insertInto('assistant_messages')
          .values(
            messages.map((m) => ({
              session_id: sessionId,
              seq: seq++,
              role: m.role,
              content: m.content,
              tool_calls: m.toolCalls === undefined || m.toolCalls.length === 0 ? null : JSON.stringify(m.toolCalls),
              tool_call_id: m.toolCallId ?? null,
              name: m.name?.slice(0, 64) ?? null,
              is_error: m.isError === true ? 1 : 0,
              created_at: now,
            })),
          )
          .execute();
      let count = Number(row.message_count) + messages.length;
      if (count > MAX_STORED_MESSAGES) {
        await trx
          .deleteFrom('assistant_messages')
          .where('session_id', '=', sessionId)
          .where('seq', '<', seq - MAX_STORED_MESSAGES)
          .execute();
        count = MAX_STORED_MESSAGES;
      }
      await trx
        .updateTable('assistant_sessions')
        .set({ message_count: count, updated_at: now, ...(title !== undefined ? { title } : {}) })
        .where('id', '=', sessionId)
        .execute();
    });
  }

  async deleteSession(userId: string, id: string): Promise<boolean> {
    const found = await this.session(userId, id);
    if (found === undefined) return false;
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('assistant_messages').where('session_id', '=', id).execute();
      await trx.deleteFrom('assistant_sessions').where('id', '=', id).execute();
    });
    return true;
  }

  /** Saves a fact for the user (the same words again are not stored twice); keeps the newest MAX_FACTS. */
  async addFact(userId: string, content: string, now: number): Promise<AssistantFact> {
    const text = content.trim().slice(0, 1000);
    const existing = await this.#db
      .selectFrom('assistant_facts')
      .selectAll()
      .where('user_id', '=', userId)
      .where('content', '=', text)
      .executeTakeFirst();
    if (existing !== undefined)
      return { id: existing.id, content: existing.content, createdAt: Number(existing.created_at) };
    const row = {
      id: newId(),
      user_id: userId,
      content: text,
      keywords: keywords(text).join(' ').slice(0, 1000),
      created_at: now,
    };
    await this.#db.insertInto('assistant_facts').values(row).execute();
    const old = await this.#db
      .selectFrom('assistant_facts')
      .select(['id'])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(MAX_FACTS)
      .limit(100)
      .execute();
    if (old.length > 0)
      await this.#db
        .deleteFrom('assistant_facts')
        .where(
          'id',
          'in',
          old.map((o) => o.id),
        )
        .execute();
    return { id: row.id, content: row.content, createdAt: now };
  }

  async listFacts(userId: string): Promise<AssistantFact[]> {
    const rows = await this.#db
      .selectFrom('assistant_facts')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(MAX_FACTS)
      .execute();
    return rows.map((r) => ({ id: r.id, content: r.content, createdAt: Number(r.created_at) }));
  }

  async deleteFact(userId: string, id: string): Promise<boolean> {
    const r = await this.#db
      .deleteFrom('assistant_facts')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Facts sharing the most words with `query` (ties: newest first). */
  async recall(userId: string, query: string, limit: number): Promise<AssistantFact[]> {
    const words = keywords(query);
    if (words.length === 0) return [];
    const rows = await this.#db
      .selectFrom('assistant_facts')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .limit(MAX_FACTS)
      .execute();
    const scored = rows
      .map((r) => {
        const have = new Set(r.keywords.split(' '));
        return { r, score: words.filter((w) => have.has(w)).length };
      })
      .filter((s) => s.score > 0)
      .sort((a, b) => b.score - a.score || Number(b.r.created_at) - Number(a.r.created_at));
    return scored.slice(0, limit).map(({ r }) => ({ id: r.id, content: r.content, createdAt: Number(r.created_at) }));
  }
}
