// @mindwire/client: the generated event types and the typed client.
export * from "./events.js";
export * from "./client.js";
export * from "./cursors.js";
export { restRefresh, tokenClaims, type TokenSource } from "./tokens.js";
export * from "./snapshot.js";
