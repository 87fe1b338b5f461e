export { createLogger, SECRET_PATHS, TEXT_PATHS, type Logger, type CreateLoggerOptions } from "./logger";
export { withLogContext, currentLogContext, type LogContext } from "./context";
