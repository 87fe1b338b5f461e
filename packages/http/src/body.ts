import express, { type RequestHandler } from "express";
import type { IncomingMessage } from "node:http";
import { AppError } from "./errors";

/**
 * Deepest JSON a service accepts. Our own bodies nest four or five levels (a bulk recipient's
 * variables); anything past this is an attack on the recursive code downstream
 * (JSON.stringify for the idempotency hash, jsonb in Postgres), which overflows its stack
 * at a few thousand levels.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Compressed bodies are refused (415, `encoding.unsupported`) rather than inflated: no client
 * of ours compresses, a webhook's signature covers the bytes on the wire, and refusing leaves
 * no decompression bomb to bound. `Content-Encoding: identity` is still accepted.
 */
const NO_INFLATE = { inflate: false } as const;

/** express.json without inflation, then a refusal of bodies nested deeper than `maxDepth`. */
export function jsonBody(opts: { limit: string | number; maxDepth?: number }): RequestHandler[] {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const depthCheck: RequestHandler = (req, _res, next) => {
    const body: unknown = req.body;
    if (body !== null && typeof body === "object" && jsonDepthExceeds(body, maxDepth)) {
      return next(new AppError("validation_failed", `The JSON body is nested deeper than ${maxDepth} levels`));
    }
    next();
  };
  return [express.json({ ...NO_INFLATE, limit: opts.limit }), depthCheck];
}

/** express.raw without inflation: the bytes as sent, for signature checks. */
export function rawBody(opts: { limit: string | number; type?: string | string[] | ((req: IncomingMessage) => boolean) }): RequestHandler {
  return express.raw({ ...NO_INFLATE, limit: opts.limit, ...(opts.type ? { type: opts.type } : {}) });
}

/**
 * A flat urlencoded form (extended: false) without inflation. More than `parameterLimit`
 * fields answers 413 (`parameters.too.many`) instead of parsing them all.
 */
export function formBody(opts: { limit: string | number; parameterLimit?: number }): RequestHandler {
  return express.urlencoded({ ...NO_INFLATE, extended: false, limit: opts.limit, parameterLimit: opts.parameterLimit ?? 100 });
}

/**
 * Whether a parsed JSON value nests deeper than `maxDepth` (the top-level object or array is
 * depth 1). Iterative, so the check itself cannot overflow the stack; visits each container
 * once and stops at the first one too deep.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: { value: object; depth: number }[] = [];
  if (value !== null && typeof value === "object") stack.push({ value, depth: 1 });
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    if (depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}
