// @mindwire/client: the generated event types and the typed client.
export * from "./events.js";
export * from "./client.js";
