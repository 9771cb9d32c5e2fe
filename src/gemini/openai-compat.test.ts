import { describe, expect, it } from "vitest";
import { nativeAuthHeaders, openAIChatToGemini } from "./openai-compat";

describe("openAIChatToGemini", () => {
  it("translates text messages, system prompt and sampling fields", () => {
    expect(
      openAIChatToGemini({
        model: "gemini-2.5-flash",
        stream: true,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: [{ type: "text", text: "Hi" }] },
          { role: "assistant", content: "Hello" },
          { role: "user", content: "More" },
        ],
        max_tokens: 100,
        temperature: 0.5,
        stop: "END",
      }),
    ).toEqual({
      model: "gemini-2.5-flash",
      request: {
        systemInstruction: { parts: [{ text: "Be brief." }] },
        contents: [
          { role: "user", parts: [{ text: "Hi" }] },
          { role: "model", parts: [{ text: "Hello" }] },
          { role: "user", parts: [{ text: "More" }] },
        ],
        generationConfig: { maxOutputTokens: 100, temperature: 0.5, stopSequences: ["END"] },
      },
    });
  });

  it.each([
    ["tools", { tools: [{ type: "function" }] }],
    ["images", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }],
    ["n > 1", { n: 2 }],
    ["no stream", { stream: false }],
    ["tool role", { messages: [{ role: "tool", content: "x", tool_call_id: "1" }] }],
  ])("refuses what it cannot translate exactly (%s)", (_name, patch) => {
    expect(
      openAIChatToGemini({ model: "m", stream: true, messages: [{ role: "user", content: "x" }], ...patch }),
    ).toBeNull();
  });
});

describe("nativeAuthHeaders", () => {
  it("moves a Bearer API key to x-goog-api-key", () => {
    expect(
      nativeAuthHeaders([
        ["content-type", "application/json"],
        ["authorization", "Bearer AIzaSyExampleKey"],
      ]),
    ).toEqual([
      ["content-type", "application/json"],
      ["x-goog-api-key", "AIzaSyExampleKey"],
    ]);
    // Any Bearer value that is not an OAuth access token is treated as a key, whatever the scheme's case.
    expect(nativeAuthHeaders([["Authorization", "bearer other-key-123"]])).toEqual([
      ["x-goog-api-key", "other-key-123"],
    ]);
  });

  it("keeps an OAuth access token as a Bearer", () => {
    const headers: [string, string][] = [["authorization", "Bearer ya29.a0AfH6SMB-token"]];
    expect(nativeAuthHeaders(headers)).toEqual(headers);
  });

  it("keeps the client's own x-goog-api-key and drops the Bearer copy", () => {
    expect(
      nativeAuthHeaders([
        ["x-goog-api-key", "AIzaOwn"],
        ["authorization", "Bearer AIzaOther"],
      ]),
    ).toEqual([["x-goog-api-key", "AIzaOwn"]]);
  });

  it("leaves other schemes and headers without credentials alone", () => {
    const basic: [string, string][] = [["authorization", "Basic dXNlcjpwYXNz"]];
    expect(nativeAuthHeaders(basic)).toEqual(basic);
    expect(nativeAuthHeaders([["accept", "*/*"]])).toEqual([["accept", "*/*"]]);
  });
});
