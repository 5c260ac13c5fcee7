import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';

/** The `mcp:` section of the hub configuration (the MCP server at `/mcp`). docs/configuration.md lists every key. */
export const mcpConfigSchema = z
  .object({
    /** Serve `/mcp` (and its protected-resource metadata). */
    enabled: z.boolean().default(true),
    /**
     * Toolsets offered (`live`, `traces`, `tests`, `k8s`); empty offers every toolset the hub has. A client narrows them
     * further per connection with `/mcp?toolsets=live,traces`.
     */
    toolsets: z.array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/)).default([]),
    /** Characters a tool's answer may take; longer lists end with "N more" and a cursor. */
    maxOutputChars: z.number().int().min(1000).max(1_000_000).default(16_000),
    /** Largest JSON-RPC request body accepted (413 beyond it). */
    maxRequestBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
    /**
     * Host header names accepted (DNS-rebinding guard). Empty: when the hub listens on a loopback address only
     * `localhost`, `127.0.0.1`, `[::1]` and publicUrl's host; otherwise any (every call needs an API token).
     */
    allowedHosts: z.array(z.string().min(1).max(255)).default([]),
    /**
     * Browser origins (host names, as the MCP SDK compares them) allowed besides the hub's own; a request with any
     * other Origin header is refused with 403.
     */
    allowedOrigins: z.array(z.string().min(1).max(255)).default([]),
  })
  .strict()
  .prefault({});

export type McpConfig = z.output<typeof mcpConfigSchema>;

export const mcpConfigSection: ConfigSection<typeof mcpConfigSchema> = {
  key: 'mcp',
  schema: mcpConfigSchema,
  env: [
    { env: 'SPYGLASS_MCP_ENABLED', key: 'enabled', parse: 'bool' },
    { env: 'SPYGLASS_MCP_MAX_OUTPUT_CHARS', key: 'maxOutputChars', parse: 'int' },
    { env: 'SPYGLASS_MCP_MAX_REQUEST_BYTES', key: 'maxRequestBytes', parse: 'int' },
  ],
};
