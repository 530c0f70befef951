defmodule Demo.Html do
  @moduledoc "HTML snippets."

  def attrs(target) do
    "class=\"btn\" rel=\"nofollow\" target=" <> target
  end

  def pair(a, b) do
    x = a; y = b
    {x, y}
  end
end
