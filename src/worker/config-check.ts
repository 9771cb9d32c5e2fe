/**
 * `npm run check-config` (DESIGN §10), the pure part: layers the variable sources the Worker would see,
 * runs the Worker's own parser on them (`collectConfigProblems`, no second copy of the rules) and words
 * the result. `scripts/check-config.mjs` does the reading and printing.
 */
import { collectConfigProblems, GATEWAY_VARIABLES, type GatewayConfig, type GatewayVars } from "./config";
import { redact } from "./log";

/** One source of variables, in the order wrangler applies them: `[vars]`, `.dev.vars`, the environment. */
export interface VariableSource {
  name: string;
  values: Readonly<Record<string, unknown>>;
}

export interface ConfigProblem {
  /** The variable the problem is in (`ENDPOINTS`). */
  variable: string;
  /** Where inside it (`ENDPOINTS.mygroq.targets[1]`); the variable itself for a plain value. */
  path: string;
  message: string;
  /** The source the variable's value came from. */
  source: string;
}

export interface ConfigCheck {
  problems: ConfigProblem[];
  /** One line when there is no problem. */
  summary: string | null;
}

/** Later sources win. Only the variables the gateway reads are taken from each. */
export function layerSources(sources: readonly VariableSource[]): {
  vars: GatewayVars;
  origin: Record<string, string>;
} {
  const vars: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const source of sources) {
    for (const name of GATEWAY_VARIABLES) {
      if (source.values[name] === undefined) continue;
      vars[name] = source.values[name];
      origin[name] = source.name;
    }
  }
  return { vars: vars as GatewayVars, origin };
}

export function checkConfig(sources: readonly VariableSource[]): ConfigCheck {
  const { vars, origin } = layerSources(sources);
  const { config, problems } = collectConfigProblems(vars);
  // A message may quote a value; the token never appears in what this prints.
  const secrets =
    typeof vars.AUTH_TOKEN === "string" && vars.AUTH_TOKEN.trim() !== "" ? [vars.AUTH_TOKEN] : [];
  const listed = problems.map((error): ConfigProblem => {
    const variable = /^[A-Z0-9_]+/.exec(error.variable)?.[0] ?? error.variable;
    return {
      variable,
      path: error.variable,
      message: redact(error.detail, secrets),
      source: origin[variable] ?? "default",
    };
  });
  return { problems: listed, summary: config === null ? null : summarize(config) };
}

/** `config ok: N endpoints (M from ENDPOINTS), T targets; token: …`. */
function summarize(config: GatewayConfig): string {
  const endpoints = [...config.endpoints.values()];
  const targets = endpoints.reduce((n, e) => n + e.targets.length, 0);
  const overridden = endpoints.filter((e) => config.overridden.has(e.name)).length;
  const keyed = endpoints.filter((e) => e.keys !== undefined).map((e) => e.name);
  const needToken = ["/health", "/metrics", "the generic proxy"];
  if (config.presetAuthEnabled) needToken.push("every preset (PRESET_AUTH_ENABLED)");
  else if (keyed.length > 0) needToken.push(`${keyed.join(", ")} (key pool)`);
  const wanting = needToken.slice(3);
  const token =
    config.authToken !== null
      ? `the token is required by ${needToken.join(", ")}`
      : wanting.length === 0
        ? "AUTH_TOKEN is not set: the generic proxy is off and /health, /metrics are public"
        : `AUTH_TOKEN is not set, but ${wanting.join(", ")} need it: set it with \`wrangler secret put AUTH_TOKEN\``;
  return `config ok: ${endpoints.length} endpoints (${overridden} from ENDPOINTS), ${targets} targets; ${token}`;
}
