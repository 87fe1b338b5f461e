export { createSimulatorApp, type Simulator, type SimulatorOptions } from "./app";
export type { SimulatorStats } from "./messages/store";
export type { DeliveryStats } from "./delivery/dispatcher";
