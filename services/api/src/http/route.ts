import type { OpenAPIRegistry, ResponseConfig, RouteConfig } from "@asteasolutions/zod-to-openapi";
import type { Request, RequestHandler, Response, Router } from "express";
import type { z } from "zod";
import { AppError, ERROR_CODES } from "@inboxerr/http";
import { requirePrincipal, type Principal } from "../auth/principal";
import { ProblemSchema } from "../schemas/common";

export const API_PREFIX = "/api/v1";

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type BodyOut<B, F> = B extends z.ZodType ? (F extends z.ZodType ? z.output<B> | z.output<F> : z.output<B>) : Out<F>;

type RouteContext<B, Q, P, H, A extends boolean> = {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  params: P;
  headers: H;
  principal: A extends true ? Principal : null;
};

type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 502;

export type RouteSpec<B, F, Q, P, H, A extends boolean> = {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI-style path below API_PREFIX: `/messages/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: A;
  body?: B;
  /** An alternative `application/x-www-form-urlencoded` body (OAuth password grant). */
  form?: F;
  query?: Q;
  params?: P;
  headers?: H;
  responses: Record<number, { description: string; schema?: z.ZodType; headers?: ResponseConfig["headers"] }>;
  /** Error statuses this route can answer besides 500/503, documented as problem+json. */
  problems: readonly ProblemStatus[];
  /**
   * Validates the JSON body in place of `body.parse` (which still documents it): for bodies
   * large enough that validating them in one piece would hold the event loop.
   */
  parseBody?: (body: unknown) => Promise<BodyOut<B, F>>;
  /** Middleware run before authentication (rate limits, extra body parsers). */
  before?: RequestHandler[];
  handler: (ctx: RouteContext<BodyOut<B, F>, Out<Q>, Out<P>, Out<H>, A>) => unknown;
};

/** A route with its types erased, ready to mount: handlers and docs come from one spec. */
export type Route = {
  method: string;
  path: string;
  mount: (router: Router, registry: OpenAPIRegistry, authenticate: RequestHandler) => void;
};

const PROBLEM_DESCRIPTIONS: Record<ProblemStatus | 500 | 503, string> = {
  400: "Invalid request (field errors in `errors`)",
  401: ERROR_CODES.unauthorized.title,
  403: ERROR_CODES.forbidden.title,
  404: "Not found, or not yours",
  409: ERROR_CODES.conflict.title,
  413: "Body larger than 5 MB",
  415: "Body is not JSON",
  422: ERROR_CODES.unprocessable.title,
  429: "Too many attempts; see Retry-After",
  502: "The gateway refused the call or did not answer in time",
  500: ERROR_CODES.internal.title,
  503: "A dependency (Postgres) is unavailable; retry shortly",
};

/**
 * Declares a route once: the same zod schemas validate the request at runtime and describe
 * it in /openapi.json, so the docs cannot drift from what the server accepts.
 */
export function defineRoute<
  B extends z.ZodType | undefined = undefined,
  F extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  H extends z.ZodType | undefined = undefined,
  A extends boolean = boolean,
>(spec: RouteSpec<B, F, Q, P, H, A>): Route {
  const expressPath = API_PREFIX + spec.path.replace(/\{(\w+)\}/g, ":$1");
  const handler: RequestHandler = async (req, res) => {
    const ctx = {
      req,
      res,
      body: spec.parseBody ? await spec.parseBody(jsonBodyOf(req)) : parseBody(req, spec.body, spec.form),
      query: spec.query ? spec.query.parse(req.query) : undefined,
      params: spec.params ? spec.params.parse(req.params) : undefined,
      headers: spec.headers ? spec.headers.parse(req.headers) : undefined,
      principal: spec.auth ? requirePrincipal(res) : null,
    };
    await spec.handler(ctx as RouteContext<BodyOut<B, F>, Out<Q>, Out<P>, Out<H>, A>);
  };
  return {
    method: spec.method,
    path: spec.path,
    mount(router, registry, authenticate) {
      const chain = [...(spec.before ?? []), ...(spec.auth ? [authenticate] : []), handler];
      router[spec.method](expressPath, ...chain);
      registry.registerPath(openApiOperation(spec));
    },
  };
}

function jsonBodyOf(req: Request): unknown {
  if (req.body === undefined) throw new AppError("unsupported_media_type", "Send the body as application/json");
  return req.body;
}

function parseBody(req: Request, json: z.ZodType | undefined, form: z.ZodType | undefined): unknown {
  if (!json && !form) return undefined;
  if (form && req.is("application/x-www-form-urlencoded")) return form.parse(req.body ?? {});
  // express.json leaves the body undefined for other content types; say so instead of "required".
  if (req.body === undefined) {
    throw new AppError("unsupported_media_type", `Send the body as application/json${form ? " or a form" : ""}`);
  }
  return (json ?? form)!.parse(req.body);
}

function openApiOperation(spec: RouteSpec<unknown, unknown, unknown, unknown, unknown, boolean>): RouteConfig {
  const responses: RouteConfig["responses"] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.schema ? { content: { "application/json": { schema: r.schema } } } : {}),
    };
  }
  const problems = [...new Set([...spec.problems, ...(spec.body || spec.form ? ([413, 415] as const) : []), 500, 503] as const)];
  for (const status of problems.sort()) {
    responses[status] = {
      description: PROBLEM_DESCRIPTIONS[status],
      ...(status === 401 ? { headers: { "WWW-Authenticate": { schema: { type: "string" } } } } : {}),
      ...(status === 429 || status === 503
        ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } } }
        : {}),
      content: { "application/problem+json": { schema: ProblemSchema } },
    };
  }
  const content: Record<string, { schema: z.ZodType }> = {};
  if (spec.body) content["application/json"] = { schema: spec.body as z.ZodType };
  if (spec.form) content["application/x-www-form-urlencoded"] = { schema: spec.form as z.ZodType };
  return {
    method: spec.method,
    path: API_PREFIX + spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    ...(spec.auth ? { security: [{ bearerAuth: [] }, { apiKeyAuth: [] }] } : {}),
    request: {
      ...(Object.keys(content).length ? { body: { required: true, content } } : {}),
      ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
      ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
      ...(spec.headers ? { headers: spec.headers as z.ZodObject } : {}),
    },
    responses,
  };
}
