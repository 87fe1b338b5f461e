import express, { type Express } from "express";
import type { Redis } from "ioredis";
import { sql } from "drizzle-orm";
import type { Registry } from "prom-client";
import { opsRouter, securityHeaders } from "@inboxerr/http";
import type { Db } from "@inboxerr/db";

/**
 * /healthz, /readyz (Postgres and Redis answer, and sending is not paused for a Postgres
 * outage: ADR 0011) and /metrics: all a worker serves.
 */
export function createOpsApp(opts: { registry: Registry; db: Db; redis: Redis; pausedForDatabase?: () => boolean }): Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(securityHeaders());
  app.use(
    opsRouter({
      registry: opts.registry,
      checks: {
        postgres: () => opts.db.execute(sql`select 1`),
        redis: () => opts.redis.ping(),
        worker: async () => {
          if (opts.pausedForDatabase?.()) throw new Error("paused until Postgres answers");
        },
      },
    }),
  );
  return app;
}
