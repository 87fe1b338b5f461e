const COLORS: Record<string, string> = {
  "gateway-simulator": "\x1b[35m",
  "webhook-ingest": "\x1b[36m",
  api: "\x1b[32m",
  "sender-worker": "\x1b[33m",
  "metrics-worker": "\x1b[34m",
  "webhook-dispatcher": "\x1b[91m",
};
const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO ", 40: "WARN ", 50: "ERROR", 60: "FATAL" };
const OMIT = new Set(["level", "time", "msg", "service", "pid", "hostname"]);
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;

/** One pino JSON line → `12:00:01 INFO  api        request method=GET status=200`; other text passes through. */
export function formatLine(name: string, line: string): string {
  const color = useColor ? (COLORS[name] ?? "\x1b[37m") : "";
  const reset = useColor ? "\x1b[0m" : "";
  const tag = `${color}${name.padEnd(18)}${reset}`;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line);
  } catch {
    return `${tag} ${line}`;
  }
  if (typeof rec !== "object" || rec === null) return `${tag} ${line}`;
  const time = typeof rec.time === "string" ? rec.time.slice(11, 19) : new Date().toISOString().slice(11, 19);
  const level = LEVELS[Number(rec.level)] ?? "INFO ";
  const rest = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${tag} ${time} ${level} ${String(rec.msg ?? "")}${rest ? " " + rest : ""}`;
}
