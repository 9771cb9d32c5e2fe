/**
 * Copy-paste usage examples (pure). Examples are written with origin markers that the renderer turns
 * into elements the client script refills from `location.origin`, so a page served behind another
 * host name or port still shows URLs that work from the operator's browser.
 */
import type { StringKey } from "./dashboard-i18n";
import type { DashboardModel } from "./dashboard-model";

/** Stands for `http(s)://host[:port]` of the page. */
export const HTTP_ORIGIN = "\u0001HTTP\u0001";
/** Stands for `ws(s)://host[:port]` of the page. */
export const WS_ORIGIN = "\u0001WS\u0001";

export interface UsageExample {
  id: string;
  tab: StringKey;
  /** A translated note shown above the code, if any. */
  note: StringKey | null;
  code: string;
}

const O = HTTP_ORIGIN;

export function buildUsageExamples(model: DashboardModel): UsageExample[] {
  const tokenNote: StringKey | null = model.presetAuth ? "usageTokenNote" : null;
  const curlToken = model.presetAuth ? ` \\\n  -H "x-proxy-token: $PROXY_TOKEN"` : "";
  const sdkHeaders = model.presetAuth
    ? `\n  defaultHeaders: { "x-proxy-token": process.env.PROXY_TOKEN },`
    : "";
  const examples: UsageExample[] = [];
  const openai = model.openaiEndpoint;
  if (openai) {
    examples.push({
      id: "curl",
      tab: "usageCurl",
      note: tokenNote,
      code:
        `curl ${O}/${openai}/v1/chat/completions \\\n` +
        `  -H "Authorization: Bearer $OPENAI_API_KEY" \\\n` +
        `  -H "Content-Type: application/json"${curlToken} \\\n` +
        `  -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'`,
    });
    examples.push({
      id: "openai",
      tab: "usageOpenai",
      note: tokenNote,
      code:
        `import OpenAI from "openai";\n\n` +
        `const client = new OpenAI({\n` +
        `  baseURL: "${O}/${openai}/v1",\n` +
        `  apiKey: process.env.OPENAI_API_KEY,${sdkHeaders}\n` +
        `});\n\n` +
        `const reply = await client.chat.completions.create({\n` +
        `  model: "gpt-4o-mini",\n` +
        `  messages: [{ role: "user", content: "Hello" }],\n` +
        `});\n` +
        `console.log(reply.choices[0].message.content);`,
    });
  }
  const gemini = model.geminiEndpoint;
  if (gemini) {
    const headers = model.presetAuth ? `, headers: { "x-proxy-token": process.env.PROXY_TOKEN }` : "";
    examples.push({
      id: "genai",
      tab: "usageGenai",
      note: tokenNote,
      code:
        `import { GoogleGenAI } from "@google/genai";\n\n` +
        `const ai = new GoogleGenAI({\n` +
        `  apiKey: process.env.GEMINI_API_KEY,\n` +
        `  httpOptions: { baseUrl: "${O}/${gemini}"${headers} },\n` +
        `});\n\n` +
        `// Streams cut off upstream are continued by the gateway: you get one complete stream.\n` +
        `const stream = await ai.models.generateContentStream({\n` +
        `  model: "gemini-2.5-flash",\n` +
        `  contents: "Write a long story",\n` +
        `});\n` +
        `for await (const chunk of stream) process.stdout.write(chunk.text ?? "");`,
    });
  }
  const anthropic = model.anthropicEndpoint;
  if (anthropic) {
    examples.push({
      id: "anthropic",
      tab: "usageAnthropic",
      note: tokenNote,
      code:
        `import Anthropic from "@anthropic-ai/sdk";\n\n` +
        `const client = new Anthropic({\n` +
        `  baseURL: "${O}/${anthropic}",\n` +
        `  apiKey: process.env.ANTHROPIC_API_KEY,${sdkHeaders}\n` +
        `});\n\n` +
        `const message = await client.messages.create({\n` +
        `  model: "claude-sonnet-4-5",\n` +
        `  max_tokens: 1024,\n` +
        `  messages: [{ role: "user", content: "Hello" }],\n` +
        `});\n` +
        `console.log(message.content);`,
    });
  }
  examples.push({
    id: "generic",
    tab: "usageGeneric",
    note: model.authConfigured ? null : "usageGenericOff",
    code:
      `# /{token}/{http|https}/{host[:port]}/{path}: path and query are forwarded byte-exact\n` +
      `curl ${O}/$PROXY_TOKEN/https/api.example.com/v1/models\n\n` +
      `# or keep the token out of the URL\n` +
      `curl -H "x-proxy-token: $PROXY_TOKEN" ${O}/https/api.example.com/v1/models`,
  });
  const live = gemini
    ? `\n\n# Gemini Live API through the ${gemini} preset (https → wss)\n` +
      `wscat -c "${WS_ORIGIN}/${gemini}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=$GEMINI_API_KEY"`
    : "";
  examples.push({
    id: "websocket",
    tab: "usageWs",
    note: model.authConfigured ? null : "usageGenericOff",
    code:
      `# Any WebSocket API: /{token}/{ws|wss}/{host[:port]}/{path}\n` +
      `wscat -c "${WS_ORIGIN}/$PROXY_TOKEN/wss/ws.example.com/socket"` +
      live,
  });
  return examples;
}
