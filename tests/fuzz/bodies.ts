import { gzipSync } from "node:zlib";

/**
 * How a fuzzed body is built. Bodies are described, not stored: a 4 MB string or 50,000
 * levels of nesting is a short marker in the description (`⟦repeat:4000000:x:tpl⟧`), so
 * fast-check's counterexample and our failure messages stay readable, and the bytes are
 * built only when the request is sent.
 */
export type BodyRecipe =
  | { kind: "none" }
  /** JSON.stringify(value), then every marker string expanded in place. */
  | { kind: "json"; value: unknown }
  /** Sent as is (markers expanded): broken JSON, plain text. */
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  /** application/x-www-form-urlencoded with `fields` fields besides username/password. */
  | { kind: "form"; username: string; password: string; fields: number; extra: string }
  /** Really gzip-compressed: a small body that inflates past every limit. */
  | { kind: "bomb"; inflatedBytes: number };

/** Named repeat units: a lone surrogate cannot travel inside a marker, so units go by name. */
const UNITS = {
  x: "x",
  e: "é",
  emoji: "😀",
  lone: "\ud83d",
  nul: "\u0000",
  tpl: "{{a}}",
  none: "",
} as const;
export type Unit = keyof typeof UNITS;

const MARKER = /"⟦([^⟧"]*)⟧"/g;

/** `[[[…]]]` (or `{"a":{"a":…}}`) `depth` levels deep, in place of this string. */
export const deep = (container: "array" | "object", depth: number): string => `⟦deep:${container}:${depth}⟧`;
/** `unit` repeated `times` times, then `suffix`, as one JSON string. */
export const repeat = (unit: Unit, times: number, suffix: Unit = "none"): string => `⟦repeat:${times}:${unit}:${suffix}⟧`;
/** A JSON number literal JavaScript cannot hold (`1e400`, 30 digits), sent verbatim. */
export const rawNumber = (literal: string): string => `⟦raw:${literal}⟧`;

function expandOne(spec: string): string {
  const [kind, a, b, c] = spec.split(":");
  if (kind === "deep") {
    const n = Number(b);
    return a === "array" ? "[".repeat(n) + "]".repeat(n) : '{"a":'.repeat(n) + "null" + "}".repeat(n);
  }
  if (kind === "repeat") return JSON.stringify(UNITS[b as Unit].repeat(Number(a)) + UNITS[c as Unit]);
  if (kind === "raw") return a!;
  throw new Error(`unknown body marker ⟦${spec}⟧`);
}

const expandMarkers = (json: string): string => json.replace(MARKER, (_, spec: string) => expandOne(spec));

/** Percent-encodes UTF-8 bytes (a lone surrogate becomes U+FFFD, as any client would send). */
function formEncode(s: string): string {
  return [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9*\-._]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

// Compressed once per size: megabytes of gzip per request would slow the whole run.
const bombs = new Map<number, Buffer>();
function bomb(inflatedBytes: number): Buffer {
  let body = bombs.get(inflatedBytes);
  if (!body) bombs.set(inflatedBytes, (body = gzipSync(`{"text":"${"x".repeat(inflatedBytes)}"}`, { level: 1 })));
  return body;
}

export function bodyBytes(body: BodyRecipe): Buffer | undefined {
  switch (body.kind) {
    case "none":
      return undefined;
    case "json":
      return Buffer.from(expandMarkers(JSON.stringify(body.value) ?? "null"), "utf8");
    case "text":
      return Buffer.from(expandMarkers(body.text), "utf8");
    case "bytes":
      return Buffer.from(body.bytes);
    case "form": {
      const parts = [`username=${formEncode(body.username)}`, `password=${formEncode(body.password)}`];
      for (let i = 0; i < body.fields; i++) parts.push(`f${i}=${i}`);
      if (body.extra) parts.push(body.extra);
      return Buffer.from(parts.join("&"), "latin1");
    }
    case "bomb":
      return bomb(body.inflatedBytes);
  }
}
