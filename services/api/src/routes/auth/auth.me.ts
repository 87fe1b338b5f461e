import { defineRoute } from "../../http/route";
import { toUserJson } from "../../messages/serialize";
import { MeResponse } from "../../schemas/auth";

export function meRoute() {
  return defineRoute({
    method: "get",
    path: "/auth/me",
    operationId: "getMe",
    summary: "The authenticated caller",
    tags: ["auth"],
    auth: true,
    responses: { 200: { description: "The caller, with their role", schema: MeResponse } },
    problems: [401],
    handler({ principal, res }) {
      res.json({ ...toUserJson({ ...principal, id: principal.userId }), authMethod: principal.authMethod });
    },
  });
}
