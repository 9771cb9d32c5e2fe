/**
 * Recognises the chatter a model puts before a continuation ("Sure, here's the continuation:", "Continuing from
 * where I left off", "好的，继续：", "以下是续写：", "はい、続きを書きます。", "이어서 작성하겠습니다.") so the aligner can
 * drop it. Used only on the very start of a continuation's answer text.
 *
 * Heuristics (false positives cost real answer text, so each pattern is narrow):
 * - A preamble is an optional acknowledgement ("Sure,", "好的，", "はい、", "네,") followed by a phrase ABOUT the
 *   continuing itself ("here is the rest", "continuing from where…", "以下是续写", "続きを書きます", "이어서 작성") and a
 *   terminator: a colon, or optional sentence punctuation and a line break. Bare acknowledgements count only on a
 *   line of their own ("Sure!\n\n").
 * - Bare "继续"/"接着" (Chinese verbs that also start ordinary sentences) count only after an acknowledgement, with an
 *   object ("继续写", "接着上文") or before a colon.
 * - English preambles must start with a capital letter: a continuation that resumes mid-sentence starts in
 *   lower case ("continuing to grow…"), a model's remark starts a sentence.
 * - Only the first `PREAMBLE_MAX_CHARS` of the text are considered; while the start could still become a
 *   preamble (it begins with a starter word and has no terminator yet) the caller should wait.
 * - At the end of the stream (`final`), the end of the text also terminates a preamble.
 */

/** Longest preamble (UTF-16 units, leading whitespace included) recognised. */
export const PREAMBLE_MAX_CHARS = 160;

export type PreambleMatch = { kind: "none" } | { kind: "pending" } | { kind: "strip"; length: number };

// A preamble takes its line break and any blank lines after it, but not the indentation of the first real line:
// that whitespace may be the continuation's own (" a river" continuing "It found").
const LINE_BREAKS = String.raw`(?:\r\n|\n|\r)(?:[ \t]*(?:\r\n|\n|\r))*`;
const EOL = `[ \\t]*${LINE_BREAKS}`;
const COLON = `[ \\t]*[:：][ \\t]*(?:${LINE_BREAKS})?`;
const PUNCT = String.raw`[ \t]*(?:\.\.\.|…|[.!。！])*`;
const term = (final: boolean): string => `(?:${COLON}|${PUNCT}${EOL}${final ? `|${PUNCT}\\s*$` : ""})`;

const EN_ACK =
  "(?:sure|okay|ok|certainly|of course|alright|all right|got it|no problem|understood|absolutely|great)";
const EN_OBJ = String.raw`(?:(?:the|my)\s+)?(?:rest|remainder|continuation|remaining\s+(?:part|text|portion|content|answer|response)|next\s+part|continued\s+(?:text|response|answer))(?:\s+of\s+[^\n:：]{1,60}?)?`;
const EN_TEXT = "(?:text|response|answer|story|writing|essay|code|list|article|explanation|reply|output)";
const EN_PHRASE = [
  String.raw`here(?:'s|’s|\s+is|\s+are)\s+${EN_OBJ}`,
  String.raw`(?:(?:i'll|i’ll|i\s+will|let\s+me|let's|let’s|now\s+i'll|now)\s+)?(?:continue|continuing|resume|resuming|pick(?:ing)?\s+up)(?:(?:\s+(?:the|my)\s+${EN_TEXT})?\s+(?:from|where|right\s+where|exactly\s+where)\b[^\n:：]{0,80}?|\s+(?:the|my)\s+${EN_TEXT})?`,
  String.raw`\(?(?:continued|continuation)(?:\s+from\s+[^\n:：]{0,80}?)?\)?`,
].join("|");

const CN_ACK = "(?:好的|好|当然|没问题|可以|明白了?|收到|行)";
const CN_SEP = String.raw`[，,。！!、]*\s*`;
const CN_OBJ =
  "(?:继续|接着|写|输出|作答|回答|生成|完成|说|上文|前文|刚才的(?:内容|回答)|之前的(?:内容|回答)|上面的(?:内容|回答)|未完成的部分|下去|如下)";
const CN_VERB = "(?:我)?(?:将|会|来|现在)?(?:继续|接着|续写)";
const CN_FROM = String.raw`(?:从[^\n：:。，,]{0,30}?(?:处|开始|的地方))`;
const CN_LEAD = String.raw`(?:以下|下面|接下来|这里)(?:是|为|就是)?(?:我)?(?:的)?(?:续写|继续|接续|剩余|剩下|后续|余下|未完成)[^\n：:。]{0,15}?`;

const JA_ACK = "(?:はい|了解しました|承知しました|かしこまりました|わかりました|分かりました|もちろんです)";
const JA_SEP = String.raw`[、。！!,]*\s*`;
const JA_PHRASE = [
  "(?:以下|こちら|下記)(?:は|が|に)?、?(?:続き|残り)(?:の(?:文章|内容|部分|回答))?(?:です|になります|を(?:書きます|記します|示します))?",
  "(?:では|それでは)?、?(?:続き|続け)(?:を|から)?(?:書きます|書いていきます|書き進めます|続けます|ます|です)",
  "(?:中断|途切れ|切れ)(?:した|た)?(?:ところ|箇所|部分|所)から(?:続けます|再開します|書きます|続きを書きます)",
].join("|");

const KO_ACK = "(?:네|알겠습니다|물론입니다|좋습니다|물론이죠)";
const KO_SEP = String.raw`[,.!]*\s*`;
const KO_WILL = "(?:작성하겠습니다|쓰겠습니다|하겠습니다|작성합니다|진행하겠습니다|이어가겠습니다)";
const KO_PHRASE = [
  String.raw`(?:이어서|계속해서|계속)\s*${KO_WILL}`,
  String.raw`(?:다음은|아래는|여기(?:에)?)\s*(?:이어지는|나머지|계속되는)\s*(?:부분|내용|글|답변)?(?:입니다)?`,
  String.raw`(?:중단된|끊긴|멈춘)\s*(?:부분|곳|지점)(?:부터|에서)\s*(?:(?:이어서|계속해서|계속)\s*)?${KO_WILL}?`,
].join("|");

interface Pattern {
  re: (final: boolean) => RegExp;
  /** The first letter must be upper case (English). */
  capital?: boolean;
}

const build =
  (body: string, flags = "iu") =>
  (final: boolean) =>
    new RegExp(`^\\s*(?:${body})${term(final)}`, flags);
const buildAlone = (ack: string, sep: string) => (_final: boolean) =>
  new RegExp(`^\\s*${ack}${sep.replace(String.raw`\s*`, "")}${EOL}`, "iu");

const PATTERNS: Pattern[] = [
  { re: build(`(?:${EN_ACK}[,.!]*\\s+)?(?:${EN_PHRASE})`), capital: true },
  { re: buildAlone(EN_ACK, "[.!]*"), capital: true },
  { re: build(`${CN_ACK}${CN_SEP}${CN_VERB}[^\\n：:。]{0,20}?`) },
  { re: build(`${CN_VERB}${CN_OBJ}+${CN_FROM}?|${CN_VERB}${CN_FROM}(?:继续|接着写)?`) },
  { re: (_f) => new RegExp(`^\\s*(?:${CN_ACK}${CN_SEP})?(?:继续|接着|续写)(?:如下)?${COLON}`, "u") },
  { re: build(`(?:${CN_ACK}${CN_SEP})?${CN_LEAD}`) },
  { re: buildAlone(CN_ACK, CN_SEP) },
  { re: build(`(?:${JA_ACK}${JA_SEP})?(?:${JA_PHRASE})`) },
  { re: buildAlone(JA_ACK, JA_SEP) },
  { re: build(`(?:${KO_ACK}${KO_SEP})?(?:${KO_PHRASE})`) },
  { re: buildAlone(KO_ACK, KO_SEP) },
];
const COMPILED = { final: PATTERNS.map((p) => p.re(true)), open: PATTERNS.map((p) => p.re(false)) };

/** Words a preamble may begin with (lower case); while the text is a prefix of one, or starts with one, wait. */
const STARTERS = [
  "sure",
  "okay",
  "ok",
  "certainly",
  "of course",
  "alright",
  "all right",
  "got it",
  "no problem",
  "understood",
  "absolutely",
  "great",
  "here",
  "i'll",
  "i’ll",
  "i will",
  "let me",
  "let's",
  "let’s",
  "now",
  "continu",
  "resum",
  "pick",
  "(continu",
  "好",
  "当然",
  "没问题",
  "可以",
  "明白",
  "收到",
  "行",
  "以下",
  "下面",
  "接下来",
  "这里",
  "继续",
  "接着",
  "续写",
  "我将",
  "我会",
  "我来",
  "我继续",
  "我接着",
  "はい",
  "了解",
  "承知",
  "かしこまり",
  "わかり",
  "分かり",
  "もちろん",
  "以下",
  "こちら",
  "下記",
  "では",
  "それでは",
  "続き",
  "続け",
  "中断",
  "途切れ",
  "切れ",
  "네",
  "알겠",
  "물론",
  "좋습",
  "이어서",
  "계속",
  "다음은",
  "아래는",
  "여기",
  "중단",
  "끊긴",
  "멈춘",
];

function startsWithCapital(text: string): boolean {
  if (text.trimStart().startsWith("(")) return true;
  const m = /\p{L}/u.exec(text);
  return m !== null && m[0] !== m[0].toLowerCase();
}

/** Whether `text` (the start of a continuation) begins with a preamble; see the module comment. */
export function matchPreamble(text: string, final: boolean): PreambleMatch {
  const head = text.slice(0, PREAMBLE_MAX_CHARS);
  const regexes = final ? COMPILED.final : COMPILED.open;
  for (let i = 0; i < PATTERNS.length; i++) {
    const m = regexes[i]?.exec(head);
    if (m && (!PATTERNS[i]?.capital || startsWithCapital(m[0])))
      return { kind: "strip", length: m[0].length };
  }
  if (final || text.length >= PREAMBLE_MAX_CHARS) return { kind: "none" };
  const t = head.trimStart().toLowerCase();
  if (t === "") return { kind: "pending" };
  if (/[\n\r:：]/.test(t)) return { kind: "none" };
  const couldBe = STARTERS.some((s) => t.startsWith(s) || s.startsWith(t));
  return couldBe ? { kind: "pending" } : { kind: "none" };
}
