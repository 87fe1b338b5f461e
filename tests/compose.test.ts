import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MIGRATE_COMMAND, MIGRATE_DIR, SERVICES, serviceCommand } from "../scripts/services";

type ComposeService = {
  command?: string[];
  working_dir?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  build?: { dockerfile: string };
};

const root = resolve(import.meta.dirname, "..");
const compose = parse(readFileSync(resolve(root, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const WORKERS = ["sender-worker", "metrics-worker", "webhook-dispatcher"];

describe("docker-compose.yml", () => {
  it("runs each service with the command and directory `pnpm start` uses", () => {
    for (const svc of SERVICES) {
      const c = compose.services[svc.name];
      expect(c, svc.name).toBeDefined();
      expect(c!.command).toEqual(serviceCommand(svc));
      expect(c!.working_dir).toBe(`/app/${svc.dir}`);
      const pkg = JSON.parse(readFileSync(resolve(root, svc.dir, "package.json"), "utf8"));
      expect(pkg.scripts.start).toBe(serviceCommand(svc).join(" "));
    }
  });

  it("migrates once before the app services start", () => {
    expect(compose.services.migrate!.command).toEqual([...MIGRATE_COMMAND]);
    expect(compose.services.migrate!.working_dir).toBe(`/app/${MIGRATE_DIR}`);
    for (const name of ["api", "webhook-ingest", ...WORKERS]) {
      expect(compose.services[name]!.depends_on?.migrate).toEqual({ condition: "service_completed_successfully" });
      expect(compose.services[name]!.depends_on?.postgres).toEqual({ condition: "service_healthy" });
    }
  });

  it("gives workers health checks and a grace period, and no host ports so they scale", () => {
    for (const name of WORKERS) {
      const c = compose.services[name]!;
      expect(c.ports).toBeUndefined();
      expect(c.healthcheck?.test.join(" ")).toContain("/healthz");
      expect(c.stop_grace_period).toMatch(/^\d+s$/);
    }
    for (const name of ["postgres", "redis"]) expect(compose.services[name]!.healthcheck).toBeDefined();
  });

  it("lets .env override every setting it gives the containers", () => {
    const env = (compose as unknown as { "x-app": { environment: Record<string, string> } })["x-app"].environment;
    for (const [key, value] of Object.entries(env)) {
      // `${KEY:-default}`: compose takes KEY from .env or the shell first. DATABASE_URL and
      // REDIS_URL read COMPOSE_* instead, since the host's 127.0.0.1 never works in a container.
      const from = key === "DATABASE_URL" || key === "REDIS_URL" ? `COMPOSE_${key}` : key;
      expect(value, key).toMatch(new RegExp(`^\\$\\{${from}:-[^}]+\\}$`));
    }
    // Host-only addresses stay out of .env.example, or a copied .env would point containers at themselves.
    const example = readFileSync(resolve(root, ".env.example"), "utf8");
    for (const key of ["SMSGATE_URL", "PUBLIC_WEBHOOK_URL"]) expect(example).not.toMatch(new RegExp(`^${key}=`, "m"));
  });

  it("builds every app service from the repo's Dockerfile, which exists", () => {
    const dockerfile = compose.services.api!.build!.dockerfile;
    expect(readFileSync(resolve(root, dockerfile), "utf8")).toMatch(/USER node/);
  });
});
