import { z } from "zod";
import { MAX_SERIES_BUCKETS, MAX_WINDOW_DAYS } from "../reporting/window";
import { isoDateTime, MessageStatusSchema } from "./common";

const GRANULARITIES = ["minute", "hour", "day"] as const;

const windowQuery = {
  from: isoDateTime()
    .optional()
    .meta({ description: "Start of the window (inclusive). Default: `to` minus 24 h", example: "2025-11-26T00:00:00Z" }),
  to: isoDateTime()
    .optional()
    .meta({ description: `End of the window (exclusive). Default: now. At most ${MAX_WINDOW_DAYS} days after \`from\``, example: "2025-11-27T00:00:00Z" }),
  userId: z.uuid().optional().meta({
    description: "Admins: one tenant's metrics (default: every tenant summed). Users: only their own id (another → 404, as for an unknown user)",
  }),
};

const senderId = z.uuid().optional().meta({
  description: "Only messages routed through this sender (one you see: your own accounts' or a shared one; another → 404). Default: every sender",
});

export const MetricsSummaryQuery = z.object({ ...windowQuery, senderId });

export const MetricsFailuresQuery = z.object({ ...windowQuery, senderId });

export const MetricsTimeseriesQuery = z.object({
  granularity: z.enum(GRANULARITIES).default("hour").meta({
    description: `Bucket width, in UTC. The window may span at most ${MAX_SERIES_BUCKETS} buckets; more → 400 (pick a coarser one)`,
  }),
  ...windowQuery,
  from: windowQuery.from.meta({
    description:
      "Start of the window (inclusive). Default: whole buckets ending with the one that holds `to`: 60 minutes, 24 hours or 30 days",
    example: "2025-11-26T00:00:00Z",
  }),
});

const windowFields = {
  from: z.string().meta({ format: "date-time", description: "The window applied (inclusive), UTC" }),
  to: z.string().meta({ format: "date-time", description: "The window applied (exclusive), UTC" }),
  userId: z.uuid().nullable().meta({ description: "The tenant counted; null = every tenant (admins only)" }),
};

const FailureReasonSchema = z
  .object({
    reason: z.string().meta({
      description: "The reason, normalised: whitespace folded, ids as `<id>`, at most 100 characters; `unknown` when none was recorded",
      example: "RESULT_ERROR_LIMIT_EXCEEDED",
    }),
    count: z.number().int().meta({ description: "Messages that failed with it in the window" }),
  })
  .meta({ id: "FailureReason" });

export const MetricsSummarySchema = z
  .object({
    ...windowFields,
    senderId: z.uuid().nullable().meta({ description: "The sender counted; null = every sender" }),
    counts: z
      .record(MessageStatusSchema, z.number().int())
      .meta({ description: "Messages that entered each status in the window (every status, zeros included)" }),
    deliveryRate: z.number().min(0).max(1).nullable().meta({ description: "delivered / (delivered + failed); null when both are 0", example: 0.97 }),
    avgDeliveryLatencyMs: z
      .number()
      .int()
      .nullable()
      .meta({ description: "Mean time from creation to delivery of the messages delivered in the window, in ms; null when none" }),
    failureReasons: z.array(FailureReasonSchema).meta({
      description: "The most frequent reasons of the `failed` count in the window, most frequent first (at most 20; ties by reason)",
    }),
  })
  .meta({ id: "MetricsSummary" });

const MetricsBucketSchema = z
  .object({
    start: z.string().meta({ format: "date-time", description: "Bucket start (UTC, aligned to the granularity)" }),
    sent: z.number().int(),
    delivered: z.number().int(),
    failed: z.number().int(),
  })
  .meta({ id: "MetricsBucket" });

export const MetricsTimeseriesSchema = z
  .object({
    granularity: z.enum(GRANULARITIES),
    ...windowFields,
    buckets: z.array(MetricsBucketSchema).meta({ description: "Every bucket of the window, oldest first, zeros included" }),
  })
  .meta({ id: "MetricsTimeseries" });


const SenderFailuresSchema = z
  .object({
    senderId: z.uuid().nullable().meta({ description: "The sender the messages failed on; null = failures that named none (before routing)" }),
    reason: FailureReasonSchema.shape.reason,
    count: z.number().int().meta({ description: "Messages that failed on that sender with that reason in the window" }),
  })
  .meta({ id: "SenderFailures" });

export const MetricsFailuresSchema = z
  .object({
    ...windowFields,
    senderId: z.uuid().nullable().meta({ description: "The sender counted; null = every sender" }),
    data: z.array(SenderFailuresSchema).meta({
      description: "One row per (sender, reason) with failures in the window, most failures first (ties by sender, then reason)",
    }),
    truncated: z.boolean().meta({ description: "True when more rows than the limit matched: narrow the window or name a sender" }),
  })
  .meta({ id: "MetricsFailures" });
