export { AppError, ERROR_CODES, notFound, type ErrorCode, type FieldError } from "./errors";
export {
  problemHandler,
  notFoundHandler,
  isDatabaseDown,
} from "./problem";
export { requestContext, requestIdOf, type RequestContextOptions } from "./request-context";
export { opsRouter, createMetricsRegistry, type ReadinessCheck } from "./ops";
export { listen, closeServer, onShutdownSignal, type ServerLimits } from "./server";
export { listenOrExit, type ListenTarget } from "./startup";
export { jsonBody, rawBody, formBody, nestedDeeperThan, MAX_JSON_DEPTH } from "./body";
export { securityHeaders } from "./security-headers";
