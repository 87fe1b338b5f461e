import { withTimeout } from "@inboxerr/batch";
import { AppError } from "@inboxerr/http";
import { checkTarget, UnsafeTargetError } from "@inboxerr/webhooks";
import type { ApiConfig } from "../config";

/** A host that neither resolves nor fails within this is refused rather than waited on. */
const RESOLVE_TIMEOUT_MS = 5_000;

/**
 * An endpoint URL the dispatcher may deliver to (DESIGN-2.md "Customers' webhooks"): its scheme
 * and every address its host resolves to, per WEBHOOK_ALLOW_INSECURE and
 * WEBHOOK_ALLOW_PRIVATE_TARGETS. Refused: 422 naming the reason on `url`. The dispatcher checks
 * again at every delivery, since a name may resolve elsewhere later.
 */
export async function checkEndpointUrl(
  config: Pick<ApiConfig, "WEBHOOK_ALLOW_INSECURE" | "WEBHOOK_ALLOW_PRIVATE_TARGETS">,
  url: string,
): Promise<void> {
  const policy = { allowInsecure: config.WEBHOOK_ALLOW_INSECURE, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS };
  try {
    await withTimeout(checkTarget(url, policy), RESOLVE_TIMEOUT_MS, "resolving the host");
  } catch (err) {
    // checkTarget throws only UnsafeTargetError (DNS failures included); the rest is the bound.
    const reason = err instanceof UnsafeTargetError ? err.message : (err as Error).message;
    throw new AppError("unprocessable", `The endpoint URL is refused: ${reason}`, {
      errors: [{ path: "url", code: "unsafe_target", detail: reason }],
    });
  }
}
