#### good
defmodule Demo.Signup do
  @moduledoc "Sign-up."

  def register(params) do
    case validate(params) do
      {:ok, user} -> {:ok, user}
      {:error, reason} -> {:error, reason}
    end
  end

  defp validate(%{email: _} = params), do: {:ok, params}
  defp validate(_), do: {:error, :email_missing}
end
#### changes_heads
defmodule Demo.Signup do
  @moduledoc "Sign-up."

  def register(%{email: _} = params), do: {:ok, params}
  def register(_), do: {:error, :email_missing}
end
#### adds_finding
defmodule Demo.Signup do
  @moduledoc "Sign-up."

  def register(params) do
    cond do
      match?({:ok, _}, validate(params)) -> validate(params)
      true -> validate(params)
    end
  end

  defp validate(%{email: _} = params), do: {:ok, params}
  defp validate(_), do: {:error, :email_missing}
end
