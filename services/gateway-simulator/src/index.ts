// What other packages' tests wire in-process (the sender's harness); no service imports it at run time.
export { createSimulatorApp, type SimulatorOptions } from "./app";
export type { SimulatorStats } from "./messages/store";
