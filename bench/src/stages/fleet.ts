import { createQueue, createRedis, enqueueSends, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { createDb, ensureDefaultAccount, gatewayAccounts, syncGatewayAccount } from "@inboxerr/db";
import { WARM_UP_SHARE } from "../baselines/raw-send-worker";
import { getJson } from "../harness/api";
import { BENCH_SECRETS, redisUrl, SENDER_CONCURRENCY, serviceEnv } from "../harness/env";
import { pollProgress } from "../harness/poll";
import { ratioCheck, type Check, type Comparison, type StageResult } from "../harness/report";
import { createPool, insertMessages, insertUser } from "../harness/rows";
import { sampleRss } from "../harness/rss";
import { openScratch } from "../harness/scratch";
import { startServices, type StageContext } from "../harness/services";

type SimCounts = { sends: number };
type Stats = { totalSends: number; duplicates: number; devices: Record<string, SimCounts & { sims: Record<string, SimCounts> }> };

/** Sizes, each overridable for a small run: BENCH_FLEET_<NAME>. */
function settings(scale: number) {
  const num = (name: string, fallback: number) => (process.env[`BENCH_FLEET_${name}`] ? Number(process.env[`BENCH_FLEET_${name}`]) : fallback);
  const sims = num("SIMS", 8);
  const rate = num("RATE_PER_MINUTE", 600);
  const windowSeconds = num("RATE_WINDOW_SECONDS", Math.max(10, Math.round(60 * scale)));
  return {
    sims,
    /** The fleet drain: every SIM active, no limits. */
    messages: num("MESSAGES", Math.max(1_000, Math.round(50_000 * scale))),
    /** The single-sender drain it is compared with (steady rates: it need not be as long). */
    singleMessages: num("SINGLE_MESSAGES", Math.max(1_000, Math.round(25_000 * scale))),
    rate,
    windowSeconds,
    /** Skipped at the start of each SIM's sends: the GCRA burst (two seconds' worth) and start-up. */
    warmSeconds: 5,
  };
}

/** Sorted epoch-ms times of `rows`. */
const sortedTimes = (rows: { at: Date }[]) => rows.map((r) => r.at.getTime()).sort((a, b) => a - b);

/** Sends per `device/sim` since `before`. */
function simDeltas(before: Stats, after: Stats): Map<string, number> {
  const out = new Map<string, number>();
  for (const [deviceId, d] of Object.entries(after.devices)) {
    for (const [sim, c] of Object.entries(d.sims)) out.set(`${deviceId}/${sim}`, c.sends - (before.devices[deviceId]?.sims[sim]?.sends ?? 0));
  }
  return out;
}

/**
 * Issue #15's fleet figures. (1) Drain throughput across `sims` SIMs with no caps, as a ratio to
 * the same drain through one SIM (the others paused) in the same run: routing over a fleet must
 * cost little (target ≥ 0.8). (2) Rate accuracy: every SIM at `rate`/min with a backlog; each
 * SIM's achieved rate over a `windowSeconds` window, as a ratio to its limit (target ±5%).
 * Only the simulator and the sender-worker run; rows and jobs are made as the api would.
 */
export async function fleetStage(ctx: StageContext): Promise<StageResult> {
  const started = performance.now();
  const s = settings(ctx.scale);
  const simsPerDevice = s.sims % 2 === 0 ? 2 : 1;
  const { databaseUrl, queuePrefix } = await openScratch("fleet", ctx.cleanup);
  const env = serviceEnv(databaseUrl, queuePrefix);
  const gateway = await startServices(
    ctx,
    "fleet",
    { ...env, SIMULATOR_DEVICES: String(s.sims / simsPerDevice), SIMULATOR_SIMS_PER_DEVICE: String(simsPerDevice) },
    ["gateway-simulator"],
  );
  const simulator = gateway.system.urls["gateway-simulator"];
  // No env sender: every sender comes from the sync, one per SIM.
  const senderEnv = { ...env, SMSGATE_URL: gateway.system.env.SMSGATE_URL, SMSGATE_DEVICE_ID: "" };

  // The `default` account (the env's gateway) and its SIMs as senders, before any worker runs:
  // routing finds them at once instead of waiting for its first sync.
  const handle = createDb(databaseUrl, { max: 2 });
  ctx.cleanup.defer("close bench db", () => handle.close());
  const { accountId } = await ensureDefaultAccount(handle.db, { SMSGATE_URL: senderEnv.SMSGATE_URL!, SMSGATE_USERNAME: BENCH_SECRETS.SMSGATE_USERNAME });
  // The scratch database holds this one account.
  const account = (await handle.db.select().from(gatewayAccounts)).find((a) => a.id === accountId)!;
  await syncGatewayAccount(handle.db, account, { secrets: null, defaultPassword: BENCH_SECRETS.SMSGATE_PASSWORD, timeoutMs: 10_000 });
  const pool = createPool(databaseUrl);
  ctx.cleanup.defer("close bench pool", () => pool.end());
  const senders = (await pool.query<{ id: string; device_id: string; sim_number: number }>("select id, device_id, sim_number from senders order by device_id, sim_number"))
    .rows;
  if (senders.length !== s.sims) throw new Error(`sync made ${senders.length} senders, expected ${s.sims}`);
  const simKey = (row: { device_id: string; sim_number: number }) => `${row.device_id}/${row.sim_number}`;

  const rss: Record<string, number> = {};
  /** `n` queued messages of a new user with their jobs, drained by a fresh sender-worker. */
  const drain = async (label: string, n: number) => {
    const userId = await insertUser(pool);
    const ids = await insertMessages(pool, userId, n, "queued");
    const producer = createRedis(redisUrl(), "producer");
    const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection: producer, prefix: queuePrefix });
    await queue.waitUntilReady();
    for (let i = 0; i < ids.length; i += 10_000) await enqueueSends(queue, ids.slice(i, i + 10_000).map((id) => ({ id, priority: 0 })));
    await queue.close();
    producer.disconnect();

    const statsBefore = await getJson<Stats>(`${simulator}/simulator/stats`);
    const spawned = performance.now();
    const sender = await startServices(ctx, "fleet", senderEnv, ["sender-worker"]);
    const sampler = sampleRss({ "sender-worker": sender.system.pids["sender-worker"] });
    const done = await pollProgress(
      async () => {
        const { rows } = await pool.query<{ accepted: number; otherwise: number }>(
          `select count(*) filter (where status = 'accepted')::int as accepted,
                  count(*) filter (where status not in ('queued', 'sending', 'accepted'))::int as otherwise
           from messages where user_id = $1`,
          [userId],
        );
        return { done: rows[0]!.accepted + rows[0]!.otherwise, total: n, accepted: rows[0]!.accepted };
      },
      { timeoutMs: 300_000, stallMs: 90_000, intervalMs: 1_000 },
    );
    if (!done.complete) ctx.log(`${label}: ${done.accepted} of ${n} accepted: ${done.why}\n${sender.system.logs()}`);
    const wallSeconds = (performance.now() - spawned) / 1000;
    rss[`sender-worker (${label})`] = sampler.stop()["sender-worker"] ?? 0;
    await sender.shutdown();
    const statsAfter = await getJson<Stats>(`${simulator}/simulator/stats`);
    // Steady state by the rows' own timestamps, as the drain stage takes it.
    const span = await pool.query<{ seconds: number; n: number }>(
      `select extract(epoch from max(accepted_at) - percentile_disc($1::float8) within group (order by accepted_at))::float8 as seconds,
              (count(*) - 1 - floor(count(*) * $1::float8))::int as n
       from messages where status = 'accepted' and user_id = $2`,
      [WARM_UP_SHARE, userId],
    );
    const rate = (span.rows[0]?.n ?? 0) / Math.max(span.rows[0]?.seconds ?? 0, 0.001);
    return {
      userId,
      accepted: done.accepted,
      rate,
      wallSeconds,
      sends: statsAfter.totalSends - statsBefore.totalSends,
      duplicates: statsAfter.duplicates - statsBefore.duplicates,
      perSim: simDeltas(statsBefore, statsAfter),
    };
  };

  // (1) One SIM, the others paused; then all of them.
  await pool.query("update senders set status = case when id = $1 then 'active' else 'paused' end", [senders[0]!.id]);
  const single = await drain("one SIM", s.singleMessages);
  await pool.query("update senders set status = 'active'");
  const fleet = await drain(`${s.sims} SIMs`, s.messages);

  // (2) Every SIM rate-limited, with backlog for the warm-up, the window and a margin.
  await pool.query("update senders set rate_per_minute = $1", [s.rate]);
  const perSimNeeded = Math.ceil((s.rate * (s.warmSeconds + s.windowSeconds + 10)) / 60);
  const limited = await drain(`${s.sims} SIMs at ${s.rate}/min`, perSimNeeded * s.sims);
  const attempts = await pool.query<{ sender_id: string; at: Date }>(
    `select a.sender_id, a.created_at as at from message_attempts a join messages m on m.id = a.message_id where m.user_id = $1`,
    [limited.userId],
  );
  const rates = senders.map((sender) => {
    const times = sortedTimes(attempts.rows.filter((a) => a.sender_id === sender.id));
    const from = (times[0] ?? 0) + s.warmSeconds * 1000;
    const to = from + s.windowSeconds * 1000;
    const inWindow = times.filter((t) => t >= from && t < to).length;
    const perMinute = (inWindow * 60) / s.windowSeconds;
    return { sim: simKey(sender), perMinute, ratio: perMinute / s.rate, covered: (times.at(-1) ?? 0) >= to };
  });
  await gateway.shutdown();

  const comparison: Comparison = {
    figure: { label: `sender-worker over ${s.sims} SIMs, queued → accepted (steady)`, value: fleet.rate, unit: "msg/s" },
    baseline: { label: "the same through one SIM (steady)", value: single.rate, unit: "msg/s" },
    target: 0.8,
  };
  const fleetShares = senders.map((row) => fleet.perSim.get(simKey(row)) ?? 0);
  const outside = rates.filter((r) => !r.covered || Math.abs(r.ratio - 1) > 0.05);
  const phases = [single, fleet, limited];
  const checks: Check[] = [
    ratioCheck("fleet drain", comparison),
    {
      target: `every SIM within ±5% of its ${s.rate}/min over ${s.windowSeconds} s`,
      pass: outside.length === 0,
      actual: rates.map((r) => `${r.ratio.toFixed(3)}${r.covered ? "" : " (backlog ran out)"}`).join(", "),
    },
    {
      target: `the fleet drain used every SIM`,
      pass: fleetShares.every((n) => n > 0),
      actual: `per SIM: ${fleetShares.join(", ")}`,
    },
    {
      target: "every message accepted, each sent once",
      pass: phases.every((p, i) => p.accepted === [s.singleMessages, s.messages, perSimNeeded * s.sims][i] && p.sends === p.accepted && p.duplicates === 0),
      actual: phases.map((p) => `${p.accepted} accepted / ${p.sends} sends / ${p.duplicates} 409s`).join("; "),
    },
  ];
  return {
    stage: "fleet",
    workload:
      `${s.messages.toLocaleString("en-US")} queued over ${s.sims} SIMs vs ${s.singleMessages.toLocaleString("en-US")} through one, ` +
      `then ${(perSimNeeded * s.sims).toLocaleString("en-US")} at ${s.rate}/min per SIM; simulator at zero latency, concurrency ${SENDER_CONCURRENCY}`,
    comparisons: [comparison],
    extra: [
      { label: "wall time, one SIM / all SIMs", value: single.wallSeconds, unit: `/ ${fleet.wallSeconds.toFixed(1)} s` },
      { label: "fleet drain, busiest / quietest SIM", value: Math.max(...fleetShares), unit: `/ ${Math.min(...fleetShares)} messages` },
      ...rates.map((r) => ({ label: `SIM ${r.sim} at ${s.rate}/min`, value: r.perMinute, unit: "/min" })),
    ],
    rssMb: rss,
    checks,
    elapsedMs: performance.now() - started,
    notes: [
      `rate window: ${s.windowSeconds} s per SIM, starting ${s.warmSeconds} s after its first attempt (by message_attempts.created_at)`,
    ],
  };
}
