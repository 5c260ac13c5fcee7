import { z } from 'zod';
import { sourceFileSchema } from './agent-wire.js';

/**
 * REST resources of source browsing: `GET /api/v1/agents/:id/sources` lists the files a connected agent has loaded
 * (original sources through source maps, and compiled scripts); `GET /api/v1/agents/:id/sources/content?path=…`
 * returns one file's text as the agent read it (size-limited, blocklist and redaction applied; every read is
 * audited). See docs/api.md.
 */
export const agentSourcesSchema = z.object({ files: z.array(sourceFileSchema) });
export type AgentSources = z.infer<typeof agentSourcesSchema>;

export const sourceContentQuerySchema = z.object({
  /** A path exactly as the list gave it. */
  path: z.string().min(1, 'must name a file').max(2048),
});
export type SourceContentQuery = z.infer<typeof sourceContentQuerySchema>;

export const sourceContentSchema = z.object({
  path: z.string(),
  text: z.string(),
  /** The file was longer than the agent's limit: `text` is its beginning. */
  truncated: z.boolean(),
});
export type SourceContent = z.infer<typeof sourceContentSchema>;
