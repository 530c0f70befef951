defmodule Accounts.User do
  @moduledoc "A registered user of the application."
  use Ecto.Schema
  import Ecto.Changeset

  @email_format ~r/^[^\s]+@[^\s]+\.[a-z]{2,}$/i
  @roles ~w(admin editor viewer)a

  schema "users" do
    field :email, :string
    field :name, :string
    field :role, Ecto.Enum, values: @roles, default: :viewer
    field :password, :string, virtual: true, redact: true
    field :hashed_password, :string, redact: true
    field :confirmed_at, :utc_datetime

    has_many :posts, Blog.Post, foreign_key: :author_id
    belongs_to :organization, Accounts.Organization

    timestamps(type: :utc_datetime)
  end

  @doc "Validates the fields a user can change on the profile page."
  def changeset(user, attrs) do
    user
    |> cast(attrs, [:email, :name, :role])
    |> validate_required([:email, :name])
    |> validate_format(:email, @email_format, message: "must be a valid email")
    |> validate_length(:name, min: 2, max: 80)
    |> unique_constraint(:email)
  end

  @doc "Changeset used at sign-up: also hashes the password."
  def registration_changeset(user, attrs) do
    user
    |> changeset(attrs)
    |> cast(attrs, [:password])
    |> validate_length(:password, min: 12, max: 72)
    |> put_hashed_password()
  end

  defp put_hashed_password(%Ecto.Changeset{valid?: true, changes: %{password: password}} = changeset) do
    changeset
    |> put_change(:hashed_password, Bcrypt.hash_pwd_salt(password))
    |> delete_change(:password)
  end

  defp put_hashed_password(changeset), do: changeset

  def admin?(%__MODULE__{role: :admin}), do: true
  def admin?(_user), do: false
end
