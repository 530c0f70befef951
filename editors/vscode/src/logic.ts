// The extension's logic that does not need the `vscode` module, so `node --test` can run it:
// settings conversion, the elixirCoder/ask pick, the status-bar text and job tracking.

// --- settings ----------------------------------------------------------------------------------

/** Keys of the extension itself (package.json); they are never sent to the server. */
export const CLIENT_KEYS = ["serverPath", "serverArgs", "instances"];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * The server's settings object from the values the user set explicitly, by dotted key below
 * `elixirCoder` (e.g. "models.default.checkpoint" -> 1). Defaults are left out on purpose: the
 * server has the same defaults, and sending them would override its user and workspace files.
 * `instances` (NAME -> model settings) becomes `models.NAME`.
 */
export function serverSettings(explicit: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(explicit)) {
    if (value === undefined || CLIENT_KEYS.includes(key)) continue;
    setPath(out, key.split("."), value as Json);
  }
  const instances = explicit["instances"];
  if (instances && typeof instances === "object" && !Array.isArray(instances)) {
    for (const [name, model] of Object.entries(instances as JsonObject)) {
      if (name === "default") continue; // models.default.* are settings of their own
      setPath(out, ["models", name], model);
    }
  }
  return out;
}

function setPath(target: JsonObject, path: string[], value: Json): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (!next || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as JsonObject;
  }
  node[path[path.length - 1]] = value;
}

/** initializationOptions: the settings plus `clientUi` (this client answers elixirCoder/ask). */
export function initializationOptions(explicit: Record<string, unknown>): JsonObject {
  return { ...serverSettings(explicit), clientUi: { ask: true } };
}

// --- elixirCoder/ask -------------------------------------------------------------------------

export interface AskOption {
  label: string;
  description?: string;
}
export interface AskParams {
  jobId: string;
  question: string;
  options: AskOption[];
  allowFreeText: boolean;
}
export type AskResult = { answer: string } | { cancelled: true };

/** A QuickPick item; `answer` is what the server gets when it is accepted. */
export interface AskItem {
  label: string;
  description?: string;
  answer: string;
  alwaysShow?: boolean;
}

export const FREE_TEXT_DESCRIPTION = "your own answer";

/** The items to show while the user has typed `typed`: the options, then the typed text as an answer of its own. */
export function askItems(params: AskParams, typed = ""): AskItem[] {
  const items: AskItem[] = params.options.map((o) => ({ label: o.label, description: o.description, answer: o.label }));
  const text = typed.trim();
  if (params.allowFreeText && text && !params.options.some((o) => o.label === text)) {
    items.push({ label: text, description: FREE_TEXT_DESCRIPTION, answer: text, alwaysShow: true });
  }
  return items;
}

export function askPlaceholder(params: AskParams): string {
  return params.allowFreeText ? "Pick an answer, or type your own and press Enter" : "Pick an answer";
}

/** The reply to the server: the accepted item's answer, else the typed text (free text allowed), else cancelled. */
export function askResult(params: AskParams, accepted: AskItem | undefined, typed: string): AskResult {
  if (accepted) return { answer: accepted.answer };
  const text = typed.trim();
  if (params.allowFreeText && text) return { answer: text };
  return { cancelled: true };
}

/** Whether the params have the elixirCoder/ask shape (a malformed request is answered cancelled). */
export function isAskParams(p: unknown): p is AskParams {
  if (!p || typeof p !== "object") return false;
  const q = p as Record<string, unknown>;
  return (
    typeof q.question === "string" &&
    Array.isArray(q.options) &&
    q.options.every((o) => o && typeof o === "object" && typeof (o as AskOption).label === "string")
  );
}

// --- elixirCoder/status ------------------------------------------------------------------------

export interface StatusParams {
  instance: string;
  state: "idle" | "loading" | "busy" | "failed";
  message?: string;
}

const ICONS: Record<string, string> = { idle: "$(check)", loading: "$(sync~spin)", busy: "$(loading~spin)", failed: "$(error)" };
// When instances differ, the bar shows the state that needs attention most.
const RANK: Record<string, number> = { failed: 3, loading: 2, busy: 1, idle: 0 };

/** Every instance's last status; `text` and `tooltip` for the status-bar item. */
export class StatusBoard {
  private readonly states = new Map<string, StatusParams>();

  update(p: StatusParams): void {
    this.states.set(p.instance, p);
  }

  text(): string {
    if (this.states.size === 0) return "$(circle-outline) Elixir Coder";
    const all = [...this.states.values()];
    const worst = all.reduce((a, b) => ((RANK[b.state] ?? 0) > (RANK[a.state] ?? 0) ? b : a));
    const icon = ICONS[worst.state] ?? "$(question)";
    return all.length === 1 ? `${icon} Elixir Coder: ${worst.state}` : `${icon} Elixir Coder: ${worst.instance} ${worst.state}`;
  }

  tooltip(): string {
    const lines = [...this.states.values()].map((s) => `${s.instance}: ${s.state}${s.message ? ` (${s.message})` : ""}`);
    return lines.length ? `Elixir Coder models\n${lines.join("\n")}` : "Elixir Coder: no model used yet";
  }

  failed(): boolean {
    return [...this.states.values()].some((s) => s.state === "failed");
  }
}

// --- jobs ----------------------------------------------------------------------------------------

/** The server's work-done progress token for a job (elixir_coder_lsp/lsp/jobs.py). */
export function jobToken(jobId: string): string {
  return `elixir-coder/${jobId}`;
}

export function jobIdOf(result: unknown): string | undefined {
  if (result && typeof result === "object" && typeof (result as { jobId?: unknown }).jobId === "string") {
    return (result as { jobId: string }).jobId;
  }
  return undefined;
}

export interface ProgressValue {
  kind: "begin" | "report" | "end";
  title?: string;
  message?: string;
  percentage?: number;
}

type Listener = (value: ProgressValue) => void;

/**
 * Running jobs, fed with every work-done progress notification. A job ends with its `end` report
 * (an edit applied, a failure shown, or a cancellation); `finished` also resolves for a job whose
 * end came before anyone asked.
 */
export class JobTracker {
  private readonly running = new Set<string>();
  private readonly ended = new Set<string>();
  private readonly listeners = new Map<string, Listener[]>();
  private readonly waiters = new Map<string, (() => void)[]>();

  /** Feed one progress notification; returns the job id when the token is a job's. */
  progress(token: string | number, value: ProgressValue): string | undefined {
    const t = String(token);
    if (!t.startsWith("elixir-coder/")) return undefined;
    const jobId = t.slice("elixir-coder/".length);
    for (const l of this.listeners.get(jobId) ?? []) l(value);
    if (value.kind === "end") this.end(jobId);
    else if (!this.ended.has(jobId)) this.running.add(jobId);
    return jobId;
  }

  started(jobId: string): void {
    if (!this.ended.has(jobId)) this.running.add(jobId);
  }

  end(jobId: string): void {
    this.running.delete(jobId);
    this.ended.add(jobId);
    this.listeners.delete(jobId);
    for (const w of this.waiters.get(jobId) ?? []) w();
    this.waiters.delete(jobId);
  }

  onProgress(jobId: string, listener: Listener): void {
    this.listeners.set(jobId, [...(this.listeners.get(jobId) ?? []), listener]);
  }

  finished(jobId: string): Promise<void> {
    if (this.ended.has(jobId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(jobId, [...(this.waiters.get(jobId) ?? []), resolve]));
  }

  /** Jobs started and not ended, oldest first. */
  active(): string[] {
    return [...this.running];
  }
}

/** The argument of elixirCoder.generate for an editor's selection (an empty one is the cursor). */
export function generateArgument(uri: string, range: { start: { line: number; character: number }; end: { line: number; character: number } }, prompt?: string): JsonObject {
  const arg: JsonObject = { uri, range: { start: { ...range.start }, end: { ...range.end } } };
  if (prompt) arg.prompt = prompt;
  return arg;
}
