;;; elixir-coder.el --- elixir-coder-lsp with eglot  -*- lexical-binding: t; -*-

;; Package-Requires: ((emacs "27.1") (eglot "1.9"))

;;; Commentary:

;; (require 'elixir-coder), then M-x eglot in an Elixir buffer (elixir-mode, elixir-ts-mode or
;; heex-ts-mode).  Settings go in `elixir-coder-settings' (docs/protocol.md, "Settings"), e.g.
;;
;;   (setq elixir-coder-settings
;;         '(:models (:default (:checkpoint "/models/qwen-coder"))
;;           :checks (:credo "builtin")))
;;
;; Commands: `elixir-coder-generate' (the request at point: a # comment block, a @doc, or the
;; region), `elixir-coder-explain' (the finding at point), `elixir-coder-cancel' (jobs started from
;; here).  The server's clarifying questions (elixirCoder/ask) are asked with `completing-read'; a
;; free-text answer can be typed instead of an option.  Model state (elixirCoder/status) shows in the
;; mode line.
;;
;; eglot runs commands synchronously with a 10 s timeout: the server answers a generate command at
;; once with a job id and sends the code later as workspace/applyEdit, so long generations never hit it.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
(require 'flymake)
(require 'subr-x)

(defgroup elixir-coder nil "Elixir code model language server." :group 'tools)

(defcustom elixir-coder-command '("elixir-coder-lsp")
  "Command that starts the server (stdio)."
  :type '(repeat string))

(defcustom elixir-coder-settings nil
  "The elixirCoder settings object (docs/protocol.md, \"Settings\") as a plist.
For example (:checks (:credo \"builtin\") :generation (:candidates 3)).  It is sent as
initializationOptions and as the answer to workspace/configuration for the section elixirCoder."
  :type 'plist)

(defcustom elixir-coder-modes '(elixir-mode elixir-ts-mode heex-ts-mode)
  "Major modes the server is used for."
  :type '(repeat symbol))

(defclass elixir-coder-server (eglot-lsp-server) ()
  :documentation "An eglot server for elixir-coder-lsp.")

(defun elixir-coder--contact (&rest _)
  "The eglot contact: the server class and `elixir-coder-command'."
  (cons 'elixir-coder-server elixir-coder-command))

(let ((modes (if (cdr elixir-coder-modes) elixir-coder-modes (car elixir-coder-modes))))
  (setq eglot-server-programs
        (cons (cons modes #'elixir-coder--contact)
              (cl-remove modes eglot-server-programs :key #'car :test #'equal))))

(defun elixir-coder--object (plist)
  "PLIST, or an empty JSON object when it is nil."
  (or plist eglot--{}))

(cl-defmethod eglot-initialization-options ((_server elixir-coder-server))
  "The settings plus clientUi: this client answers elixirCoder/ask.
eglot has no inline completion, so unless the settings say otherwise the server also offers its
inline completion as one completion item."
  (let ((inline (plist-get elixir-coder-settings :inline)))
    (append (if (plist-member inline :asCompletionItem)
                elixir-coder-settings
              ;; other :inline keys (say :maxNewTokens) keep the completion-item fallback
              (plist-put (copy-sequence elixir-coder-settings) :inline (append inline '(:asCompletionItem t))))
            '(:clientUi (:ask t)))))

(cl-defmethod eglot-handle-request
  ((server elixir-coder-server) (_method (eql workspace/configuration)) &key items)
  "Answer the elixirCoder section from `elixir-coder-settings'; other sections as eglot does."
  (let ((others (cl-call-next-method)))
    (apply #'vector
           (cl-loop for item across items
                    for i from 0
                    collect (if (equal (plist-get item :section) "elixirCoder")
                                (elixir-coder--object elixir-coder-settings)
                              (aref others i))))))

;;; elixirCoder/ask

(defun elixir-coder--ask (question options free-text)
  "Ask QUESTION with OPTIONS (plists with :label, :description); FREE-TEXT allows any answer.
Returns the elixirCoder/ask reply: (:answer STRING) or (:cancelled t)."
  (let* ((labels (mapcar (lambda (o) (plist-get o :label)) options))
         (table (lambda (string pred action)
                  (if (eq action 'metadata)
                      `(metadata (annotation-function
                                  . ,(lambda (label)
                                       (let ((o (cl-find label options :key (lambda (o) (plist-get o :label))
                                                         :test #'equal)))
                                         (when (stringp (plist-get o :description))
                                           (concat "  " (plist-get o :description)))))))
                    (complete-with-action action labels string pred))))
         (answer (condition-case nil
                     (completing-read (concat question
                                              (if free-text " (pick or type an answer): " " "))
                                      table nil (not free-text))
                   (quit nil))))
    (if (and answer (not (string-empty-p (string-trim answer))))
        (list :answer (string-trim answer))
      (list :cancelled t))))

(cl-defmethod eglot-handle-request
  ((_server elixir-coder-server) (_method (eql elixirCoder/ask))
   &key question options allowFreeText &allow-other-keys)
  "Handle the server's clarifying question."
  (elixir-coder--ask question (append options nil) (eq allowFreeText t)))

;;; elixirCoder/status

(defvar elixir-coder--status nil "Alist: instance -> (STATE . MESSAGE).")

(defun elixir-coder-mode-line ()
  "The models' states for the mode line, e.g. \" EC[default idle]\"."
  (when elixir-coder--status
    (format " EC[%s]"
            (mapconcat (lambda (s)
                         (let ((text (format "%s %s" (car s) (cadr s))))
                           (if (equal (cadr s) "failed") (propertize text 'face 'error) text)))
                       (reverse elixir-coder--status) ", "))))

(defvar elixir-coder--mode-line-entry '(:eval (elixir-coder-mode-line)))
(unless (member elixir-coder--mode-line-entry mode-line-misc-info)
  (push elixir-coder--mode-line-entry mode-line-misc-info))

(cl-defmethod eglot-handle-notification
  ((_server elixir-coder-server) (_method (eql elixirCoder/status))
   &key instance state message &allow-other-keys)
  "Show the model's state in the mode line; a failure also as a message."
  (setf (alist-get instance elixir-coder--status nil nil #'equal) (cons state message))
  (when (equal state "failed")
    (message "elixir-coder: %s failed%s" instance (if (stringp message) (concat ": " message) "")))
  (force-mode-line-update t))

;;; Commands

(defvar elixir-coder--jobs nil "Job ids started from this Emacs, newest first.")

(defun elixir-coder--execute (command argument)
  "Run the server COMMAND with its one ARGUMENT (a plist); return the result."
  (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                   (list :command command :arguments (vector argument))))

(defun elixir-coder-generate (&optional prompt)
  "Generate code for the request at point (a # comment block, a @doc) or in the region.
With a prefix argument, read PROMPT, which overrides the request's text.  The command returns at
once; the code arrives as an edit when the job is done."
  (interactive (list (when current-prefix-arg (read-string "Generate: "))))
  (let* ((beg (if (use-region-p) (region-beginning) (point)))
         (end (if (use-region-p) (region-end) (point)))
         (argument (append (list :uri (plist-get (eglot--TextDocumentIdentifier) :uri)
                                 :range (list :start (eglot--pos-to-lsp-position beg)
                                              :end (eglot--pos-to-lsp-position end)))
                           (when (and prompt (not (string-empty-p prompt))) (list :prompt prompt))))
         (result (elixir-coder--execute "elixirCoder.generate" argument))
         (job (plist-get result :jobId)))
    (when job
      (push job elixir-coder--jobs)
      (message "elixir-coder: generating (%s)" job))
    job))

(defun elixir-coder-cancel ()
  "Cancel the job running on this buffer (one started from a code action too) and the jobs started from here."
  (interactive)
  (let* ((own (cl-loop for job in elixir-coder--jobs
                       when (eq t (plist-get (elixir-coder--execute "elixirCoder.cancel" (list :jobId job))
                                             :cancelled))
                       collect job))
         (here (eq t (plist-get (elixir-coder--execute "elixirCoder.cancel"
                                                       (list :uri (plist-get (eglot--TextDocumentIdentifier) :uri)))
                                :cancelled))))
    (setq elixir-coder--jobs nil)
    (message "elixir-coder: %s"
             (cond (own (format "cancelled %s%s" (string-join own ", ") (if here " and this buffer's job" "")))
                   (here "cancelled this buffer's job")
                   (t "no job was running")))))

(defun elixir-coder--diag-data (diag)
  "The flymake data of DIAG (eglot keeps the LSP diagnostic there)."
  (if (fboundp 'flymake-diagnostic-data) (flymake-diagnostic-data diag) (eglot--diag-data diag)))

(defun elixir-coder--finding-at-point ()
  "The LSP diagnostic of the finding at point (else the first one on the line), or nil."
  (let ((lsp (lambda (d) (cdr (assoc 'eglot-lsp-diag (elixir-coder--diag-data d))))))
    (or (cl-some lsp (flymake-diagnostics (point)))
        (cl-some lsp (flymake-diagnostics (line-beginning-position) (line-end-position))))))

(defun elixir-coder-explain ()
  "Explain the finding at point in a help buffer; return the markdown."
  (interactive)
  (let ((diagnostic (elixir-coder--finding-at-point)))
    (if (null diagnostic)
        (progn (message "elixir-coder: no finding at point") nil)
      (let ((markdown (plist-get (elixir-coder--execute
                                  "elixirCoder.explain"
                                  (list :uri (plist-get (eglot--TextDocumentIdentifier) :uri)
                                        :diagnostic diagnostic))
                                 :markdown)))
        (with-help-window "*elixir-coder explanation*"
          (princ markdown))
        markdown))))

(provide 'elixir-coder)
;;; elixir-coder.el ends here
