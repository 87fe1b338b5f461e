import express, { type RequestHandler } from "express";
import type { IncomingMessage } from "node:http";

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

/**
 * express.json without inflation, refusing bodies nested deeper than `maxDepth` before they are
 * parsed: the raw bytes are scanned first (nestedDeeperThan), so no recursive code, JSON.parse
 * included, ever meets a hostile depth.
 */
export function jsonBody(opts: { limit: string | number; maxDepth?: number }): RequestHandler {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  return express.json({
    ...NO_INFLATE,
    limit: opts.limit,
    verify: (_req, _res, buf) => {
      // body-parser turns a thrown error into its http-error of this status and type.
      if (nestedDeeperThan(buf, maxDepth)) throw Object.assign(new Error(`The JSON body is nested deeper than ${maxDepth} levels`), { status: 400, type: TOO_DEEP });
    },
  });
}

/** body-parser error type of a body refused by jsonBody's depth scan (problem.ts maps it). */
export const TOO_DEEP = "entity.too.deep";

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

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the UTF-8 JSON text in `bytes` opens more than `max` objects or arrays inside each
 * other. One pass, no recursion, before anything parses it. Brackets inside strings do not
 * count (UTF-8 continuation bytes are never ASCII, so a byte scan is exact). Malformed JSON is
 * left for the parser to refuse.
 */
export function nestedDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}
