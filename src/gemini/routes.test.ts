import { describe, expect, it } from "vitest";
import { classifyGeminiRoute, nativeStreamTargetForOpenAI, upstreamStreamTarget } from "./routes";

describe("classifyGeminiRoute", () => {
  it.each([
    ["/v1beta/models/gemini-2.5-pro:streamGenerateContent", "?alt=sse", "stream_sse"],
    ["/v1beta/models/gemini-2.5-pro:streamGenerateContent", "?key=k&alt=sse", "stream_sse"],
    ["/v1beta/models/gemini-2.5-pro:streamGenerateContent", "", "stream_json_array"],
    ["/v1beta/models/gemini-2.5-pro:streamGenerateContent", "?alt=json", "stream_json_array"],
    ["/v1/models/gemini-2.5-pro:generateContent", "?key=k", "generate"],
    ["/v1beta/tunedModels/my-model:generateContent", "", "generate"],
    ["/v1beta/models/gemini-2.5-pro:countTokens", "", "passthrough"],
    ["/v1beta/models/text-embedding-004:embedContent", "", "passthrough"],
    ["/v1beta/models", "", "passthrough"],
    ["/v1beta/cachedContents", "", "passthrough"],
    ["/upload/v1beta/files", "", "passthrough"],
  ])("%s%s → %s", (rest, search, kind) => {
    expect(classifyGeminiRoute("POST", rest, search).kind).toBe(kind);
  });

  it("protects the OpenAI-compatible chat route only when it streams", () => {
    expect(classifyGeminiRoute("POST", "/v1beta/openai/chat/completions", "", true).kind).toBe(
      "openai_chat_stream",
    );
    expect(classifyGeminiRoute("POST", "/v1beta/openai/chat/completions", "", false).kind).toBe(
      "passthrough",
    );
  });

  it("passes through non-POST requests", () => {
    expect(classifyGeminiRoute("GET", "/v1beta/models/x:generateContent", "").kind).toBe("passthrough");
  });

  it("extracts the model", () => {
    expect(classifyGeminiRoute("POST", "/v1beta/models/gemini-2.5-pro:generateContent", "").model).toBe(
      "models/gemini-2.5-pro",
    );
  });
});

describe("upstreamStreamTarget", () => {
  it("turns every protected route into SSE streaming, keeping other parameters byte-exact", () => {
    expect(upstreamStreamTarget("/v1beta/models/m:generateContent", "?key=a%2Fb&x=1")).toEqual({
      rest: "/v1beta/models/m:streamGenerateContent",
      search: "?key=a%2Fb&x=1&alt=sse",
    });
    expect(upstreamStreamTarget("/v1beta/models/m:streamGenerateContent", "?alt=sse&key=k")).toEqual({
      rest: "/v1beta/models/m:streamGenerateContent",
      search: "?key=k&alt=sse",
    });
    expect(upstreamStreamTarget("/v1beta/models/m:streamGenerateContent", "").search).toBe("?alt=sse");
  });

  it("maps an OpenAI-compatible model to the native stream path", () => {
    expect(nativeStreamTargetForOpenAI("/v1beta/openai/chat/completions", "", "gemini-2.5-flash")).toEqual({
      rest: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
      search: "?alt=sse",
    });
  });
});
