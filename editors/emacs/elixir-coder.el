;;; elixir-coder.el --- elixir-coder-lsp with eglot  -*- lexical-binding: t; -*-
;;; Commentary:
;; (require 'elixir-coder) then M-x eglot in an Elixir buffer.  Code actions run their commands
;; synchronously in eglot (10 s timeout): the server answers them at once with a job id and sends the
;; result later as workspace/applyEdit, so long generations never hit that timeout.
;;; Code:
(require 'eglot)

(defgroup elixir-coder nil "Elixir code model language server." :group 'tools)

(defcustom elixir-coder-command '("elixir-coder-lsp")
  "Command that starts the server (stdio)."
  :type '(repeat string))

(defcustom elixir-coder-settings '()
  "The elixirCoder settings object (docs/protocol.md, "Settings"), as a plist, e.g. (:checks (:credo \"builtin\"))."
  :type 'plist)

(dolist (mode '(elixir-mode elixir-ts-mode heex-ts-mode))
  (add-to-list 'eglot-server-programs
               `(,mode . ,(lambda (&rest _)
                            (append elixir-coder-command
                                    (list :initializationOptions elixir-coder-settings))))))

(setq-default eglot-workspace-configuration
              (plist-put (default-value 'eglot-workspace-configuration) :elixirCoder elixir-coder-settings))

(provide 'elixir-coder)
;;; elixir-coder.el ends here
