;;; eglot_test.el --- batch eglot against the real server  -*- lexical-binding: t; -*-
;; Opens lib/stats.ex, waits for diagnostics, finds the "Generate code" action, runs
;; `elixir-coder-generate', answers the clarifying question (when the server asks one) through
;; `completing-read', and checks that the buffer holds the generated code.  Exits 0 when every
;; check passed.  editors/tests/run_eglot.sh sets the environment (EC_*).
(require 'cl-lib)
(add-to-list 'load-path (expand-file-name "editors/emacs" (getenv "EC_REPO")))
(unless (fboundp 'elixir-mode)           ; no Elixir major mode in Emacs 28: a bare one for the test
  (define-derived-mode elixir-mode prog-mode "Elixir"))
(add-to-list 'auto-mode-alist '("\\.exs?\\'" . elixir-mode))
(require 'elixir-coder)

(defun ec-say (fmt &rest args)
  (princ (format "[eglot %s] %s\n" ec-eglot-version (apply #'format fmt args))))

(defvar ec-asked nil)
(defun ec-fail (fmt &rest args)
  (ec-say "FAIL: %s" (apply #'format fmt args))
  (kill-emacs 1))

(defun ec-wait (what seconds check)
  (let ((until (+ (float-time) seconds)) value)
    (while (and (not (setq value (funcall check))) (< (float-time) until))
      (accept-process-output nil 0.2))
    (or value (ec-fail "timed out waiting for %s" what))))

(defconst ec-eglot-version
  (let ((lib (or (locate-library "eglot") "")))
    (if (string-match "eglot-\\([0-9.]+\\)/" lib) (match-string 1 lib) (concat "built into Emacs " emacs-version))))

(setq elixir-coder-command (list (getenv "EC_PYTHON") "-m" "elixir_coder_lsp")
      elixir-coder-settings
      `(:models (:default (:checkpoint ,(getenv "EC_MODEL") :maxNewTokens 128))
        :generation (:candidates 2)
        :checks (:onChangeDebounceMs 0)
        :clarification (:entropyThreshold 0 :clusterThreshold 1))
      eglot-confirm-server-initiated-edits nil
      eglot-sync-connect 30)

;; The user: picks the first option of the clarifying question.
(advice-add 'completing-read :override
            (lambda (prompt collection &rest _)
              (let ((answer (car (all-completions "" collection))))
                (push (cons prompt answer) ec-asked)
                answer)))

(condition-case err
    (progn
      (find-file (expand-file-name "lib/stats.ex" (getenv "EC_WORKDIR")))
      (unless (eq major-mode 'elixir-mode) (ec-fail "major mode %s" major-mode))
      (apply #'eglot (eglot--guess-contact))
      (let ((server (ec-wait "the server" 60 #'eglot-current-server)))
        (ec-say "server class: %s" (eieio-object-class-name server))
        (let ((diag (ec-wait "the IO.inspect diagnostic" 120
                             (lambda ()
                               (flymake-start)
                               (cl-find-if (lambda (d)
                                             (equal (plist-get (cdr (assoc 'eglot-lsp-diag (elixir-coder--diag-data d))) :code)
                                                    "Credo.Check.Warning.IoInspect"))
                                           (flymake-diagnostics (point-min) (point-max)))))))
          (ec-say "diagnostic: line %d: %s" (line-number-at-pos (flymake-diagnostic-beg diag))
                  (flymake-diagnostic-text diag)))
        (goto-char (point-min))
        (forward-line 4)
        (let ((markdown (elixir-coder-explain)))
          (unless (string-match-p "IO.inspect" markdown) (ec-fail "explanation: %s" markdown))
          (ec-say "explain: %s" (car (split-string markdown "\n"))))
        (goto-char (point-min))
        (forward-line 1)
        (forward-char 10)
        (let* ((pos (eglot--pos-to-lsp-position))
               (actions (jsonrpc-request server :textDocument/codeAction
                                         (list :textDocument (eglot--TextDocumentIdentifier)
                                               :range (list :start pos :end pos)
                                               :context (list :diagnostics []))))
               (titles (mapcar (lambda (a) (plist-get a :title)) actions)))
          (unless (member "Generate code" titles) (ec-fail "no Generate code action among %S" titles))
          (ec-say "code actions: %s" (string-join titles ", ")))
        (let ((job (elixir-coder-generate))
              (want (concat "  " (getenv "EC_GENERATED_PREFIX"))))
          (ec-say "job: %s" job)
          (ec-wait "the generated code in the buffer" 240
                   (lambda ()
                     (save-excursion
                       (goto-char (point-min))
                       (forward-line 2)
                       (looking-at-p (regexp-quote want)))))
          (ec-say "buffer line 3: %s" (save-excursion (goto-char (point-min)) (forward-line 2)
                                                     (buffer-substring-no-properties (point) (line-end-position)))))
        (save-excursion
          (goto-char (point-min))
          (forward-line 1)
          (unless (looking-at-p "  # TODO: return the mean of a list of numbers$") (ec-fail "the comment moved")))
        (cond (ec-asked (ec-say "question: %s-> answered %s" (caar ec-asked) (cdar ec-asked)))
              ((equal (getenv "EC_EXPECT_ASK") "1") (ec-fail "the server asked no clarifying question"))
              (t (ec-say "no clarifying question was asked")))
        (ec-wait "a model status" 30 (lambda () elixir-coder--status))
        ;; cancel: the generated job has ended, so neither it nor this buffer's job is running any more
        (let ((reply (elixir-coder-cancel)))
          (unless (string-match-p "no job was running" reply) (ec-fail "cancel: %s" reply))
          (ec-say "cancel: %s" reply))
        (ec-say "mode line:%s" (elixir-coder-mode-line))
        (ignore-errors (eglot-shutdown server))))
  (error (ec-fail "%S" err)))
(ec-say "PASS")
(kill-emacs 0)
