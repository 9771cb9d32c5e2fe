/**
 * The subset of the Gemini REST types (v1beta `generateContent`) the gateway reads or writes. Unknown fields are
 * kept as they are: the gateway forwards what it does not understand.
 */
export interface FunctionCall {
  name: string;
  args?: Record<string, unknown>;
  id?: string;
}

export interface Part {
  text?: string;
  /** `true` marks a thought summary (thinking models with `includeThoughts`). */
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: FunctionCall;
  functionResponse?: { name: string; response?: unknown; id?: string };
  [field: string]: unknown;
}

export interface Content {
  /** `user`, `model`, or (older clients) `function`. */
  role?: string;
  parts: Part[];
}

export interface GenerationConfig {
  maxOutputTokens?: number;
  candidateCount?: number;
  thinkingConfig?: { includeThoughts?: boolean; thinkingBudget?: number; [field: string]: unknown };
  [field: string]: unknown;
}

export interface GenerateContentRequest {
  contents: Content[];
  systemInstruction?: Content;
  generationConfig?: GenerationConfig;
  [field: string]: unknown;
}

export interface Candidate {
  content?: Content;
  finishReason?: string;
  finishMessage?: string;
  index?: number;
  [field: string]: unknown;
}

export interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
  [field: string]: unknown;
}

export interface GoogleErrorBody {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

export interface GenerateContentResponse {
  candidates?: Candidate[];
  promptFeedback?: { blockReason?: string; [field: string]: unknown };
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  responseId?: string;
  /** Present when the upstream reports an error inside the stream. */
  error?: GoogleErrorBody;
  [field: string]: unknown;
}

/** Languages the continuation prompt exists in (`GEMINI_RETRY_PROMPT_CN/EN/JA/KO`). */
/** The continuation prompts are format-independent (`src/stream/prompts.ts`). */
export type { PromptLanguage, RetryPrompts } from "../stream/prompts";
