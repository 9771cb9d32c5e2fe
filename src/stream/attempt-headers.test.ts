import { describe, expect, it } from "vitest";
import { attemptHeaders } from "./attempt-headers";

describe("attemptHeaders", () => {
  it("keeps the client's credentials and replaces what described the client's own body", () => {
    const headers = attemptHeaders(
      [
        ["authorization", "Bearer sk-client"],
        ["content-length", "999"],
        ["content-encoding", "gzip"],
        ["transfer-encoding", "chunked"],
        ["accept-encoding", "br"],
        ["accept", "application/json"],
        ["content-type", "text/plain"],
      ],
      42,
    );
    expect(Object.fromEntries(headers)).toEqual({
      authorization: "Bearer sk-client",
      "content-type": "application/json",
      accept: "text/event-stream",
      "accept-encoding": "identity",
      "content-length": "42",
    });
  });
});
