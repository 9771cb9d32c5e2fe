import { describe, expect, it } from "vitest";
import { anthropicErrorEvent, anthropicMessagesStream } from "./messages-stream";

describe("Anthropic Messages classifier", () => {
  it("content blocks are content, message_stop is final, error is an error", () => {
    const classifier = anthropicMessagesStream.newClassifier();
    const kinds = [
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
      "error",
    ].map((type) => classifier.classify({ data: JSON.stringify({ type }), raw: false }));
    expect(kinds).toEqual(["meta", "meta", "content", "content", "meta", "meta", "terminal", "error"]);
  });

  it("the guard's error event carries the event: line the SDK needs and Anthropic's error shape", () => {
    const event = anthropicErrorEvent({ reason: "stalled", message: "upstream h sent nothing" });
    const [eventLine, dataLine, ...rest] = event.split("\n");
    expect(eventLine).toBe("event: error");
    expect(JSON.parse(dataLine!.slice(6))).toEqual({
      type: "error",
      error: { type: "timeout_error", message: "upstream h sent nothing" },
    });
    expect(rest).toEqual(["", ""]);
  });
});
