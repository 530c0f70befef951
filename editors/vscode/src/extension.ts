// VS Code client for elixir-coder-lsp: starts the stdio server, answers elixirCoder/ask with a quick
// pick (free text allowed), and shows elixirCoder/status in the status bar.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let lastJob: string | undefined;

interface AskParams { jobId: string; question: string; options: { label: string; description?: string }[]; allowFreeText: boolean }

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("elixirCoder");
  const serverOptions: ServerOptions = { command: config.get<string>("serverPath", "elixir-coder-lsp"), args: [] };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "elixir" }],
    synchronize: { configurationSection: "elixirCoder" },
    initializationOptions: { clientUi: { ask: true } },
    middleware: {
      executeCommand: async (command, args, next) => {
        const result = await next(command, args);
        if (result && typeof result === "object" && "jobId" in result) { lastJob = (result as { jobId: string }).jobId; }
        return result;
      },
    },
  };
  client = new LanguageClient("elixirCoder", "Elixir Coder", serverOptions, clientOptions);

  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.text = "$(hubot) Elixir Coder";
  status.show();
  context.subscriptions.push(status);

  client.onNotification("elixirCoder/status", (p: { instance: string; state: string; message?: string }) => {
    status.text = `$(hubot) ${p.instance}: ${p.state}`;
    status.tooltip = p.message ?? "";
  });
  client.onRequest("elixirCoder/ask", async (p: AskParams) => {
    const items: vscode.QuickPickItem[] = p.options.map((o) => ({ label: o.label, description: o.description }));
    const pick = vscode.window.createQuickPick();
    pick.title = p.question;
    pick.items = items;
    pick.placeholder = p.allowFreeText ? "Pick an answer or type your own" : "Pick an answer";
    const answer = await new Promise<string | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]?.label ?? (p.allowFreeText ? pick.value : undefined)));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
    pick.dispose();
    return answer === undefined || answer === "" ? { cancelled: true } : { answer };
  });
  context.subscriptions.push(
    vscode.commands.registerCommand("elixirCoder.cancelJob", async () => {
      // VS Code sends no cancellation for commands, so offer an explicit one.
      if (client && lastJob) { await client.sendRequest("workspace/executeCommand", { command: "elixirCoder.cancel", arguments: [{ jobId: lastJob }] }); }
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
