import pg from "pg";

export type PgActivitySampler = { stop(): Promise<string> };

/**
 * A sampling profiler for Postgres: every `intervalMs`, what each non-idle backend of the
 * stage's database is doing (which service, statement, state and wait event). The share of
 * samples is the average number of backends busy that way: where the database time goes,
 * and whether it is CPU (no wait event), locks (Lock) or commits (IO/WALSync).
 */
export async function samplePgActivity(databaseUrl: string, database: string, intervalMs = 50): Promise<PgActivitySampler> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const { rows } = await client.query<{ app: string; state: string; wait: string | null; query: string }>(
        `select application_name as app, state, wait_event_type || ':' || wait_event as wait, query
         from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and state is not null and state <> 'idle'`,
        [database],
      );
      samples += 1;
      for (const r of rows) {
        const q = r.query.replace(/\s+/g, " ").replace(/'[^']*'/g, "'…'").slice(0, 110);
        const key = `${(r.app || "?").padEnd(14)} ${r.state === "active" ? "" : `[${r.state}] `}${r.wait ? `{${r.wait}} ` : ""}${q}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
  })().catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end().catch(() => undefined);
      const busy = [...counts.values()].reduce((a, b) => a + b, 0) / Math.max(samples, 1);
      const lines = [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15)
        .map(([k, n]) => `    ${(n / Math.max(samples, 1)).toFixed(2).padStart(5)}  ${k}`);
      return [`  postgres activity (${samples} samples, ${busy.toFixed(2)} backends busy on average; by service, [state], {wait}, statement):`, ...lines].join("\n");
    },
  };
}
