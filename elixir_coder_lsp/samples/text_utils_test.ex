defmodule Text.UtilsTest do
  use ExUnit.Case, async: true
  doctest Text.Utils

  alias Text.Utils

  describe "truncate/2" do
    test "keeps short text unchanged" do
      assert Utils.truncate("hello", 10) == "hello"
    end

    test "cuts long text and adds an ellipsis" do
      assert Utils.truncate("hello world", 6) == "hello…"
    end
  end

  describe "slugify/1" do
    test "lowercases and joins words with dashes" do
      assert Utils.slugify("Hello Big World") == "hello-big-world"
    end

    test "drops punctuation" do
      assert Utils.slugify("Ready, set: go!") == "ready-set-go"
    end
  end

  test "word_count/1 counts whitespace separated words" do
    assert Utils.word_count("  one two\tthree\n") == 3
  end

  setup do
    lines = for i <- 1..5, do: "line #{i}"
    {:ok, lines: lines}
  end

  test "chunk_lines/2 numbers lines", %{lines: lines} do
    assert [["1: line 1", "2: line 2"] | _rest] = Utils.chunk_lines(lines, 2)
  end
end
