import {
  ERROR_CODES,
  SpyglassError,
  friendlyZodMessage,
  type ErrorBody,
  type ErrorCode,
  type ErrorIssue,
} from '@spyglass/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';

const STATUS_TO_CODE: Record<number, ErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'INVALID_INPUT',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

const CONTEXT_NAMES: Record<string, string> = {
  querystring: 'query',
  body: 'body',
  params: 'params',
  headers: 'headers',
};

function validationIssues(err: FastifyError): ErrorIssue[] {
  const context = CONTEXT_NAMES[err.validationContext ?? 'body'] ?? err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const sub = (v.instancePath ?? '').replace(/^\//, '').split('/').filter(Boolean).join('.');
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const path = [context, sub, missing].filter((p) => p !== undefined && p !== '').join('.');
    return { path, message: v.message ?? 'is invalid' };
  });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: SpyglassError): FastifyReply {
  const status = ERROR_CODES[err.code].status;
  const body: ErrorBody = {
    error: {
      code: err.code,
      message: status >= 500 && err.code === 'INTERNAL' ? 'internal error' : err.message,
      requestId: request.id,
      ...(err.issues === undefined ? {} : { issues: err.issues }),
    },
  };
  if (err.retryAfterSec !== undefined) void reply.header('retry-after', String(err.retryAfterSec));
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Renders every error as `{"error":{"code","message","requestId"}}`; 5xx never carries internals. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof SpyglassError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendError(request, reply, error);
    }
    if (error.validation !== undefined) {
      const issues = validationIssues(error);
      const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      return sendError(request, reply, new SpyglassError('INVALID_INPUT', message || 'invalid input', { issues }));
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status < 500) {
      const code = STATUS_TO_CODE[status] ?? 'INVALID_INPUT';
      let message = error.message;
      if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError)
        message = 'body is not valid JSON';
      return sendError(request, reply, new SpyglassError(code, message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(request, reply, new SpyglassError(status === 503 ? 'UNAVAILABLE' : 'INTERNAL', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new SpyglassError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );
}

/**
 * Fastify's validator for the zod schemas of routes: the type provider's, with the hub's plain-language messages for
 * zod's built-in checks (`must be at least 1`), so REST, CLI, console and MCP callers read the same words.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const result = schema.safeParse(data, { error: friendlyZodMessage });
    if (result.success) return { value: result.data };
    return {
      error: result.error.issues.map((issue) => ({
        keyword: issue.code,
        instancePath: `/${issue.path.map(String).join('/')}`,
        schemaPath: `#/${issue.path.map(String).join('/')}/${issue.code}`,
        message: issue.message,
        params: {},
      })),
    };
  };
