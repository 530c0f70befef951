#### good
defmodule Demo.Html do
  @moduledoc "HTML snippets."

  def attrs(target) do
    ~s(class="btn" rel="nofollow" target=) <> target
  end

  def pair(a, b) do
    {a, b}
  end
end
#### unparseable
defmodule Demo.Html do
  @moduledoc "HTML snippets."

  def attrs(target) do
    ~s(class="btn" rel="nofollow" target=) <> target
  end

  def pair(a, b) do
    {a, b
  end
end
#### changes_heads
defmodule Demo.Html do
  @moduledoc "HTML snippets."

  def attrs do
    ~s(class="btn" rel="nofollow")
  end

  def pair(a, b) do
    {a, b}
  end
end
