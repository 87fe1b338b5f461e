export { createLogger, type Logger, type CreateLoggerOptions } from "./logger";
export { withLogContext, type LogContext } from "./context";
