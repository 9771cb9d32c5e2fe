import type { GenerateContentResponse } from "../../gemini/types";
import { SessionEventLog } from "../session-event-log";

export type { SessionEnd } from "../session-event-log";

/** A Gemini session's event log (`session-event-log.ts`): Gemini chunks, stored as JSON. */
export class GeminiEventLog extends SessionEventLog<GenerateContentResponse> {
  constructor(sql: SqlStorage) {
    super(sql, {
      encode: (chunk) => JSON.stringify(chunk),
      decode: (stored) => JSON.parse(stored) as GenerateContentResponse,
      interrupted: (why) => abortedChunk(why),
    });
  }
}

/** The final event of a session that stopped before the generation finished. */
export function abortedChunk(why: string): GenerateContentResponse {
  return {
    candidates: [
      {
        content: { role: "model", parts: [{ text: "" }] },
        finishReason: "OTHER",
        finishMessage: `gateway: generation stopped: ${why}`,
        index: 0,
      },
    ],
  };
}
