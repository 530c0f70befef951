defmodule Demo.Signup do
  @moduledoc "Sign-up."

  def register(params) do
    with {:ok, user} <- validate(params) do
      {:ok, user}
    else
      {:error, reason} -> {:error, reason}
    end
  end

  defp validate(%{email: _} = params), do: {:ok, params}
  defp validate(_), do: {:error, :email_missing}
end
