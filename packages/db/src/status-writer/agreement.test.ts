import { randomUUID } from "node:crypto";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageEvents, messages, type Message } from "../schema/messages";
import { canTransition, MESSAGE_STATUSES, STAMPED_STATUSES, type MessageStatus } from "../status";
import { connectTestDb, insertMessageRows, insertSender, insertUser } from "../test-support";
import { applyReportBatch, type GatewayEnvelope, type GatewayReport } from "./report-batch";
import { REPORT_TARGETS } from "./report-batch.sql";
import { transition, transitionMany } from "./transition";

// The three writers of a status (transition, transitionMany, the report batch) are generated
// from status.ts; this checks they agree with canTransition and with each other on every
// (from, to) pair, on Postgres, so a change to one that the others miss fails here.

const { db, close } = connectTestDb();
afterAll(close);

const AT = new Date("2030-01-02T03:04:05.678Z");
const LONG_AGO = new Date(Date.now() - 3_600_000);
const REASON = "RESULT_ERROR_NO_SERVICE";
const pairs = MESSAGE_STATUSES.flatMap((from) => MESSAGE_STATUSES.map((to) => ({ from, to, ok: canTransition(from, to) })));
const key = (from: MessageStatus, to: MessageStatus) => `${from}>${to}`;

type Outcome = {
  status: MessageStatus;
  stamps: Record<string, Date | null>;
  error: string | null;
  attempts: number;
  waitingReason: string | null;
  touched: boolean;
  events: { messageId: string; userId: string; status: MessageStatus; latencyKnown: boolean; senderId: string | null; error: string | null }[];
};

let userId: string;
let senderId: string;
/** A fresh message in `from` per pair and writer, older than the test (so a touch shows), waiting. */
async function messagesIn(): Promise<Map<string, Message>> {
  const out = new Map<string, Message>();
  for (const from of MESSAGE_STATUSES) {
    const rows = await insertMessageRows(db, userId, MESSAGE_STATUSES.length, { status: from, senderId, waitingReason: "rate_limited", createdAt: LONG_AGO, updatedAt: LONG_AGO });
    MESSAGE_STATUSES.forEach((to, i) => out.set(key(from, to), rows[i]!));
  }
  return out;
}

async function outcomes(ids: readonly string[]): Promise<Map<string, Outcome>> {
  const rows = await db.select().from(messages).where(inArray(messages.id, [...ids]));
  const events = await db.select().from(messageEvents).where(inArray(messageEvents.messageId, [...ids]));
  return new Map(
    rows.map((m) => [
      m.id,
      {
        status: m.status,
        stamps: Object.fromEntries(STAMPED_STATUSES.map((s) => [s, (m as unknown as Record<string, Date | null>)[`${s}At`]!])),
        error: m.error,
        attempts: m.attempts,
        waitingReason: m.waitingReason,
        touched: m.updatedAt.getTime() > LONG_AGO.getTime(),
        events: events
          .filter((e) => e.messageId === m.id)
          .map((e) => ({
            messageId: e.messageId,
            userId: e.userId,
            status: e.status,
            latencyKnown: e.latencyMs !== null && e.latencyMs >= 3_600_000,
            senderId: e.senderId,
            error: e.error,
          })),
      },
    ]),
  );
}

/** What canTransition says the move does, in the terms of Outcome. */
function expected(from: MessageStatus, to: MessageStatus, m: Message): Outcome {
  const ok = canTransition(from, to);
  const stamps = Object.fromEntries(STAMPED_STATUSES.map((s) => [s, ok && s === to ? AT : null]));
  return {
    status: ok ? to : from,
    stamps,
    error: ok && to === "failed" ? REASON : null,
    attempts: ok && to === "sending" ? 1 : 0,
    // Whatever it waited for, a message that moved is no longer waiting (ADR 0022).
    waitingReason: ok ? null : "rate_limited",
    touched: ok,
    // Every event names the message's sender; a `failed` one carries its reason (ADR 0021).
    events: ok ? [{ messageId: m.id, userId: m.userId, status: to, latencyKnown: true, senderId: m.senderId, error: to === "failed" ? REASON : null }] : [],
  };
}

const input = (m: Message, to: MessageStatus) => ({ messageId: m.id, to, at: AT, error: to === "failed" ? REASON : undefined });

let single: Map<string, Message>;
let batched: Map<string, Message>;
let reported: Map<string, Message>;
let batchedOutcomes: Map<string, Outcome>;
let reportedOutcomes: Map<string, Outcome>;

beforeAll(async () => {
  userId = (await insertUser(db)).id;
  senderId = (await insertSender(db, userId)).id;
  [single, batched, reported] = [await messagesIn(), await messagesIn(), await messagesIn()];

  // All 81 pairs in one transitionMany: every target and source mixed in one statement.
  await transitionMany(db, pairs.map(({ from, to }) => input(batched.get(key(from, to))!, to)));
  batchedOutcomes = await outcomes([...batched.values()].map((m) => m.id));

  // Every source with each report a gateway can send, in one report batch.
  const envelopes: GatewayEnvelope[] = MESSAGE_STATUSES.flatMap((from) =>
    REPORT_TARGETS.map((to): GatewayEnvelope => {
      const m = reported.get(key(from, to))!;
      const act: GatewayReport =
        to === "failed" ? { kind: "failed", messageId: m.id, at: AT, reason: REASON } : { kind: to, messageId: m.id, at: AT };
      return { envelopeId: randomUUID(), event: `sms:${to}`, deviceId: "d", messageId: m.id, json: "{}", act };
    }),
  );
  await applyReportBatch(db, envelopes);
  reportedOutcomes = await outcomes(REPORT_TARGETS.flatMap((to) => MESSAGE_STATUSES.map((from) => reported.get(key(from, to))!.id)));
});

describe("the status writers agree on every (from, to) pair", () => {
  it.for(pairs)("$from → $to (allowed: $ok)", async ({ from, to }) => {
    const m = single.get(key(from, to))!;
    await transition(db, input(m, to));
    const one = (await outcomes([m.id])).get(m.id)!;
    expect(one).toEqual(expected(from, to, m));

    const b = batched.get(key(from, to))!;
    expect(batchedOutcomes.get(b.id)).toEqual({ ...one, events: one.events.map((e) => ({ ...e, messageId: b.id })) });

    if ((REPORT_TARGETS as readonly MessageStatus[]).includes(to)) {
      const r = reported.get(key(from, to))!;
      expect(reportedOutcomes.get(r.id)).toEqual({ ...one, events: one.events.map((e) => ({ ...e, messageId: r.id })) });
    }
  });
});
