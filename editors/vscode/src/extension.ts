// VS Code client for elixir-coder-lsp. It starts the stdio server, turns user settings into the
// server's settings object, answers elixirCoder/ask with a QuickPick (options plus free text), shows
// elixirCoder/status in the status bar, and follows each job with cancellable notification progress.
// Everything that does not need `vscode` lives in logic.ts (tested with node --test).
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";
import {
  AskItem,
  AskResult,
  JobTracker,
  ProgressValue,
  StatusBoard,
  StatusParams,
  askItems,
  askPlaceholder,
  askResult,
  generateArgument,
  initializationOptions,
  isAskParams,
  jobIdOf,
  serverSettings,
} from "./logic";

const SECTION = "elixirCoder";
let client: LanguageClient | undefined;
const jobs = new JobTracker();

let settingKeys: string[] = []; // package.json's settings, below `elixirCoder`

/** The settings the user set explicitly (any scope), by dotted key below `elixirCoder`. */
function explicitSettings(scope?: vscode.Uri): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, unknown> = {};
  for (const key of settingKeys) {
    const seen = config.inspect(key);
    const value = seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue;
    if (value !== undefined) out[key] = value;
  }
  return out;
}

async function runServerCommand(command: string, argument: object, token?: vscode.CancellationToken): Promise<unknown> {
  if (!client) throw new Error("the Elixir Coder server is not running");
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }, token);
}

async function cancelJob(jobId: string): Promise<void> {
  await runServerCommand("elixirCoder.cancel", { jobId });
  jobs.end(jobId);
}

/** Notification progress for one job until it ends; the notification's Cancel cancels the job. */
function followJob(jobId: string, title: string): void {
  jobs.started(jobId);
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Elixir Coder: ${title}`, cancellable: true },
    async (progress, token) => {
      jobs.onProgress(jobId, (v: ProgressValue) => {
        if (v.message && v.kind !== "end") progress.report({ message: v.message });
      });
      token.onCancellationRequested(() => void cancelJob(jobId));
      await jobs.finished(jobId);
    },
  );
}

async function generateCode(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) return;
  const s = editor.selection;
  const argument = generateArgument(editor.document.uri.toString(), {
    start: { line: s.start.line, character: s.start.character },
    end: { line: s.end.line, character: s.end.character },
  });
  const jobId = jobIdOf(await runServerCommand("elixirCoder.generate", argument));
  if (jobId) followJob(jobId, "Generate code");
}

async function explainFinding(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) return;
  const here = editor.selection.active;
  const found = (client.diagnostics?.get(editor.document.uri) ?? []).filter((d) => d.range.contains(here));
  if (found.length === 0) {
    void vscode.window.showInformationMessage("Elixir Coder: no finding at the cursor.");
    return;
  }
  const diagnostic = client.code2ProtocolConverter.asDiagnostic(found[0]);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "Elixir Coder: Explain", cancellable: true },
    (_progress, token) => runServerCommand("elixirCoder.explain", { uri: editor.document.uri.toString(), diagnostic }, token),
  );
  const markdown = (result as { markdown?: string } | undefined)?.markdown;
  if (!markdown) return;
  const doc = await vscode.workspace.openTextDocument({ language: "markdown", content: markdown });
  await vscode.commands.executeCommand("markdown.showPreviewToSide", doc.uri);
}

async function cancelRunning(): Promise<void> {
  const running = jobs.active();
  if (running.length === 0) {
    void vscode.window.showInformationMessage("Elixir Coder: no job is running.");
    return;
  }
  await Promise.all(running.map(cancelJob));
}

function ask(params: unknown): Promise<AskResult> {
  if (!isAskParams(params)) return Promise.resolve({ cancelled: true });
  const pick = vscode.window.createQuickPick<AskItem & vscode.QuickPickItem>();
  pick.title = params.question;
  pick.placeholder = askPlaceholder(params);
  pick.ignoreFocusOut = true;
  pick.items = askItems(params);
  pick.onDidChangeValue((typed) => (pick.items = askItems(params, typed)));
  return new Promise<AskResult>((resolve) => {
    let done = false;
    const finish = (r: AskResult) => {
      if (done) return;
      done = true;
      resolve(r);
      pick.dispose();
    };
    pick.onDidAccept(() => finish(askResult(params, pick.selectedItems[0], pick.value)));
    pick.onDidHide(() => finish({ cancelled: true }));
    pick.show();
  });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const properties = context.extension.packageJSON?.contributes?.configuration?.properties ?? {};
  settingKeys = Object.keys(properties).map((k) => k.slice(SECTION.length + 1));
  const config = vscode.workspace.getConfiguration(SECTION);
  // serverPath and serverArgs are machine-scoped: a workspace cannot choose what is run.
  const run = { command: config.get<string>("serverPath", "elixir-coder-lsp"), args: config.get<string[]>("serverArgs", []), transport: TransportKind.stdio };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "elixir" }, { scheme: "untitled", language: "elixir" }],
    initializationOptions: initializationOptions(explicitSettings()),
    // No synchronize.configurationSection: it would send every default, overriding the server's own
    // config files. A change is announced with null settings instead, and the server asks for them.
    middleware: {
      // workspace/configuration gets the same explicit-only object as initializationOptions; an item
      // scoped to a workspace folder gets that folder's values (the server keeps settings per folder).
      workspace: {
        configuration: (params) =>
          params.items.map((item) =>
            item.section === SECTION ? serverSettings(explicitSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)) : null,
          ),
      },
      // Code actions run server commands through here: follow the jobs they start.
      executeCommand: async (command, args, next) => {
        const result = await next(command, args);
        const jobId = jobIdOf(result);
        if (jobId) followJob(jobId, command === "elixirCoder.fix" ? "Fix" : "Generate code");
        return result;
      },
      handleWorkDoneProgress: (token, params, next) => {
        jobs.progress(token, params as ProgressValue);
        next(token, params);
      },
    },
  };
  client = new LanguageClient(SECTION, "Elixir Coder", serverOptions, clientOptions);

  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  const board = new StatusBoard();
  const showStatus = () => {
    status.text = board.text();
    status.tooltip = board.tooltip();
    status.backgroundColor = board.failed() ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  };
  showStatus();
  status.command = "elixirCoder.cancelJob";
  status.show();

  context.subscriptions.push(
    status,
    client.onNotification("elixirCoder/status", (p: StatusParams) => {
      board.update(p);
      showStatus();
    }),
    client.onRequest("elixirCoder/ask", ask),
    vscode.commands.registerCommand("elixirCoder.generateCode", generateCode),
    vscode.commands.registerCommand("elixirCoder.explainFinding", explainFinding),
    vscode.commands.registerCommand("elixirCoder.cancelJob", cancelRunning),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION) && client?.isRunning()) {
        void client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      }
    }),
  );
  // textDocument/inlineCompletion is an LSP 3.18 feature that vscode-languageclient 9 ships as proposed.
  client.registerProposedFeatures();
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
