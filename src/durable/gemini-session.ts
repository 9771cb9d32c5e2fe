import { DurableObject } from "cloudflare:workers";

/** Placeholder so the Worker builds; the owning issue replaces it. */
export class GeminiSession extends DurableObject<Env> {}
